// bench/four_tracks.js: the four-track program bench/render renders and
// encodes (drums, bass, chords, lead with delay and reverb).
setcps(0.55)
drums: s("bd*4, ~ sd ~ sd, hh*8").n("<0 1>").gain(0.8)
bass: note("c2 c2 [eb2 c2] g1").s("sawtooth").cutoff(500).resonance(8).lpenv(3).lpdecay(0.2).decay(0.25).sustain(0.3).gain(0.4)
chords: note("<[c4,eb4,g4] [ab3,c4,eb4] [f3,ab3,c4] [g3,b3,d4]>").s("triangle").attack(0.05).release(0.4).room(0.5).size(4).gain(0.3)
lead: note("c5 eb5 g5 bb5 g5 eb5 c5 ~").s("square").cutoff(2500).delay(0.4).delaytime(0.27).delayfeedback(0.5).room(0.3).gain(0.2)
