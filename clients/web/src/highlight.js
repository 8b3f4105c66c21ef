/*
 * highlight.js: annotations waiting for their frame.
 *
 * An annotation ({frame, events}) says which token sounds at stream frame
 * `frame`. This browser lights it when its own playout reaches that frame
 * (audio.js Player.playoutFrame), so each listener sees the code move in
 * time with what they hear, however far behind live they are.
 *
 * Invariants:
 *  1. The queue is ordered by frame; tick(F) lights exactly the queued
 *     events with frame <= F, each until frame + dur (at least 100 ms so a
 *     short note is still seen), and then forgets them.
 *  2. Events more than 2 s older than the playout are dropped unlit (a
 *     stalled tab must not flash a backlog), and at most MAX_QUEUED
 *     annotations wait.
 */
const MAX_QUEUED = 4000;
const RATE = 48000;

export class Highlighter {
  /* paneOf(docId) returns the DocView showing that document, or null. */
  constructor(paneOf) {
    this.paneOf = paneOf;
    this.queue = [];
    this.lit = 0;       // events lit so far (tests read it)
    this.received = 0;
  }

  push(anno) {
    this.received++;
    this.newest = Math.max(this.newest || 0, anno.frame);
    const q = this.queue;
    let i = q.length;
    while (i > 0 && q[i - 1].frame > anno.frame) i--;
    q.splice(i, 0, anno);
    if (q.length > MAX_QUEUED) q.splice(0, q.length - MAX_QUEUED);
  }

  tick(frame, panes) {
    if (frame !== null) {
      const q = this.queue;
      let n = 0;
      while (n < q.length && q[n].frame <= frame) n++;
      for (const a of q.splice(0, n)) {
        if (a.frame < frame - 2 * RATE) continue;
        for (const ev of a.events) {
          const pane = this.paneOf(ev.doc);
          if (!pane) continue;
          const dur = Math.max(0.1, Math.min(4, ev.dur || 0.1));
          pane.light(ev, a.frame + Math.round(dur * RATE));
          this.lit++;
        }
      }
    }
    for (const p of panes) p.tick(frame === null ? Infinity : frame);
  }
}
