"""deploy/icecast-relay.xml, for real: Debian's icecast2 started twice on
loopback, a master that tuttid feeds (--icecast) and a relay configured by
the example file (only its host names, ports, passwords and paths
changed); a listener of the relay decodes the session's 440 Hz."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, BUILDDIR, SRCDIR, TUTTI  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
ICECAST = shutil.which("icecast2")
PW, RELAY_PW = "tutti-master-pw", "tutti-relay-pw"
t = Tap()
if not ICECAST:
    print("1..0 # SKIP icecast2 is not installed (apt-get install icecast2)")
    sys.exit(0)

tmp = tempfile.mkdtemp(prefix="tutti-relay-")
os.chmod(tmp, 0o711)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def icedir(name):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    os.chmod(d, 0o777)
    return d


MPORT, RPORT = free_port(), free_port()
owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>" if os.getuid() == 0 else ""
mdir, rdir = icedir("master"), icedir("relay")
with open(os.path.join(mdir, "icecast.xml"), "w") as f:
    f.write("""<icecast>
  <limits><clients>100</clients><sources>4</sources><source-timeout>10</source-timeout></limits>
  <authentication><source-password>%s</source-password><relay-user>relay</relay-user>
    <relay-password>%s</relay-password><admin-user>admin</admin-user>
    <admin-password>%s</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>%d</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>%s</basedir><logdir>%s</logdir><webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>%s</security>
</icecast>
""" % (PW, RELAY_PW, PW, MPORT, mdir, mdir, owner))

# The relay: deploy/icecast-relay.xml with this machine's names put in.
tree = ET.parse(os.path.join(SRCDIR, "deploy", "icecast-relay.xml"))
root = tree.getroot()
root.find("hostname").text = "127.0.0.1"
root.find("relay/server").text = "127.0.0.1"
root.find("relay/port").text = str(MPORT)
root.find("relay/password").text = RELAY_PW
ls = root.find("listen-socket")
ls.find("port").text = str(RPORT)
ET.SubElement(ls, "bind-address").text = "127.0.0.1"
root.find("paths/basedir").text = rdir
root.find("paths/logdir").text = rdir
if owner:
    root.find("security").append(ET.fromstring(owner))
tree.write(os.path.join(rdir, "icecast.xml"))
t.ok(root.find("relay/mount").text == "/live.ogg" and root.find("relay/on-demand").text == "0",
     "the example relays /live.ogg continuously")


def start(d, port):
    p = subprocess.Popen([ICECAST, "-c", os.path.join(d, "icecast.xml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return p


def listen(port, seconds):
    end = time.time() + 30
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/live.ogg")
            r = c.getresponse()
            if r.status == 200:
                data, stop = b"", time.time() + seconds
                while time.time() < stop:
                    data += r.read1(65536)
                c.close()
                path = os.path.join(tmp, "heard-%d.ogg" % port)
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
with Server(tmpdir=tmp, db=db) as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "relayed"})
    sid, tok = sess["id"], sess["owner_token"]
    code = os.path.join(tmp, "tone.js")
    with open(code, "w") as f:
        f.write('note("a4").s("sine")\n')
    p = subprocess.run([TUTTI, "eval", "--server", "http://127.0.0.1:%d" % srv.port, "--session", sid,
                        "--token", tok, "--quantum", "now", code], capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 0, "a program is evaluated", p.stderr)

master = start(mdir, MPORT)
relay = None
url = "http://source:%s@127.0.0.1:%d/live.ogg" % (PW, MPORT)
try:
    with Server(tmpdir=tmp, db=db, args=["--icecast", "%s=%s" % (sid, url)]) as srv:
        # The relay starts once the master has the mount, as in a
        # deployment where the relays come up after the source.
        on_air = listen(MPORT, 0.5)
        t.ok(on_air is not None, "tuttid is on air at the master")
        relay = start(rdir, RPORT)
        wins = listen(RPORT, 4.0)
        t.ok(wins and any(abs(w["freq"] - 440) < 3 for w in wins),
             "a listener of the relay hears the session tuttid feeds to the master", (wins or [])[:2])
        t.ok(relay.poll() is None and master.poll() is None, "both Icecast servers are running")
finally:
    for p in (relay, master):
        if p:
            p.kill()
            p.wait()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
