"""A session on air through Icecast: tuttid started with --icecast feeds
Debian's icecast2 (started here on loopback), a listener of the Icecast
mount decodes the session's 440 Hz; when Icecast dies and comes back,
tuttid reconnects by itself."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, BUILDDIR, TUTTI  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
ICECAST = shutil.which("icecast2")
PW = "tutti-test-pw"
t = Tap()
if not ICECAST:
    print("1..0 # SKIP icecast2 is not installed (apt-get install icecast2)")
    sys.exit(0)

tmp = tempfile.mkdtemp(prefix="tutti-ice-")
os.chmod(tmp, 0o711)
ice_dir = os.path.join(tmp, "ice")
os.mkdir(ice_dir)
os.chmod(ice_dir, 0o777)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


IPORT = free_port()
owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>" if os.getuid() == 0 else ""
with open(os.path.join(ice_dir, "icecast.xml"), "w") as f:
    f.write("""<icecast>
  <limits><clients>100</clients><sources>4</sources><source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect><burst-size>65535</burst-size></limits>
  <authentication><source-password>%s</source-password><admin-user>admin</admin-user>
    <admin-password>%s</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>%d</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>%s</basedir><logdir>%s</logdir><webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>%s</security>
</icecast>
""" % (PW, PW, IPORT, ice_dir, ice_dir, owner))


def start_icecast():
    p = subprocess.Popen([ICECAST, "-c", os.path.join(ice_dir, "icecast.xml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", IPORT), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.1)
    return p


def listen_icecast(seconds):
    """Reads the mount for `seconds` once tuttid is on air there; decodes it."""
    end = time.time() + 20
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", IPORT, timeout=5)
            c.request("GET", "/live.ogg")
            r = c.getresponse()
            if r.status == 200:
                data, stop = b"", time.time() + seconds
                while time.time() < stop:
                    data += r.read1(65536)
                c.close()
                path = os.path.join(tmp, "heard.ogg")
                with open(path, "wb") as f:
                    f.write(data)
                d = subprocess.run([OGGCHECK, "ogg", path], capture_output=True, text=True)
                return [json.loads(l) for l in d.stdout.splitlines()] if d.returncode == 0 else []
            c.close()
        except OSError:
            pass
        time.sleep(0.3)
    return None


db = os.path.join(tmp, "tutti.db")
with Server(tmpdir=tmp, db=db) as srv:   # make a session with a program in it
    st, sess = srv.json("POST", "/api/sessions", {"name": "on air"})
    sid, tok = sess["id"], sess["owner_token"]
    code = os.path.join(tmp, "tone.js")
    with open(code, "w") as f:
        f.write('note("a4").s("sine")\n')
    p = subprocess.run([TUTTI, "eval", "--server", "http://127.0.0.1:%d" % srv.port, "--session", sid,
                        "--token", tok, "--quantum", "now", code], capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 0, "a program is evaluated", p.stderr)

ice = start_icecast()
url = "http://source:%s@127.0.0.1:%d/live.ogg" % (PW, IPORT)
with Server(tmpdir=tmp, db=db, args=["--icecast", "%s=%s" % (sid, url)]) as srv:
    wins = listen_icecast(3.0)
    t.ok(wins and any(abs(w["freq"] - 440) < 3 for w in wins),
         "a listener of the Icecast mount hears the session", (wins or [])[:2])
    t.ok(srv.wait_log("on air at"), "tuttid says it is on air")
    ice.kill()
    ice.wait()
    t.ok(srv.wait_log(lambda l: "lost" in l or "cannot connect" in l), "it notices Icecast is gone",
         srv.log[-5:])
    ice = start_icecast()
    wins = listen_icecast(2.0)
    t.ok(wins and any(abs(w["freq"] - 440) < 3 for w in wins),
         "when Icecast comes back, tuttid reconnects by itself", (wins or [])[:2])
    st, h = srv.json("GET", "/api/health")
    t.eq(st, 200, "tuttid kept serving meanwhile")
ice.kill()
ice.wait()
p = subprocess.run([os.path.join(BUILDDIR, "server", "tuttid"), "--icecast", "nourl"],
                   capture_output=True, text=True, timeout=10)
t.ok(p.returncode == 2 and "icecast" in p.stderr, "a malformed --icecast is refused, saying so", p.stderr)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
