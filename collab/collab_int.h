/*
 * collab/collab_int.h: shared by the files of collab/ only.
 */
#ifndef TT_COLLAB_INT_H
#define TT_COLLAB_INT_H

#include <stddef.h>

/* Writes the message into err (when given) and returns code: every
 * refusal in collab/ says what was wrong through this. */
__attribute__((format(printf, 4, 5)))
int collab__fail(int code, char *err, size_t errsz, const char *fmt, ...);

#endif
