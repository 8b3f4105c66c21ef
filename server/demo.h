/*
 * server/demo.h: the embedded default's demo session.
 *
 * On a first start (a database without sessions) tuttid creates a session
 * "demo" with one document holding a short pattern for the built-in kit,
 * and stores an evaluation of it, so the demo plays as soon as anyone
 * listens to it or joins it: the normal restore path (server/evaluate.c)
 * brings it to life, nothing here is special-cased at run time.
 */
#ifndef TT_SERVER_DEMO_H
#define TT_SERVER_DEMO_H

typedef struct tt_app tt_app;

/* Seeds the demo when the database has no session; logs its URLs. Start-up
 * only (before the threads). */
int demo_seed(tt_app *app);

#endif
