/*
 * common/error.h: the one way tutti fails.
 *
 * Every function that can fail returns an int: TT_OK (0) on success or one
 * of the negative codes below, and passes results through out-parameters.
 * tt_strerror() names a code for a log line or an error reply; the detail a
 * user needs (what was wrong and where) travels beside the code in the
 * caller's own error buffer, never inside the code.
 *
 * Safe on the render thread: yes (no allocation, no locks).
 */
#ifndef TT_COMMON_ERROR_H
#define TT_COMMON_ERROR_H

typedef enum tt_err {
	TT_OK = 0,
	TT_ENOMEM = -1,      /* an allocation failed */
	TT_EINVAL = -2,      /* an argument or input is malformed */
	TT_ERANGE = -3,      /* a number is out of range or an operation overflowed */
	TT_ELIMIT = -4,      /* a named limit (common/limits.h) was exceeded */
	TT_EIO = -5,         /* a read, write or socket call failed */
	TT_ENOTFOUND = -6,   /* the thing asked for does not exist */
	TT_ESYNTAX = -7,     /* source code could not be parsed */
	TT_EDB = -8,         /* the database refused or failed */
	TT_EEXIST = -9,      /* the thing being created exists already */
	TT_EPERM = -10,      /* the caller's role does not allow this */
	TT_ECLOSED = -11,    /* the connection or object is closed */
	TT_EAGAIN = -12,     /* not now: try again (a queue is full, a lock busy) */
	TT_EPROTO = -13,     /* the peer broke the wire protocol */
	TT_EUNSUPPORTED = -14, /* valid, but not something tutti does */
	TT_ECONFLICT = -15,  /* a revision or version does not match */
	TT_EFORMAT = -16,    /* a file (sample, database, archive) is corrupt */
	TT_EFULL = -17,      /* the disk (the database's file system) is full */
	TT_ERR_MIN_ = -18    /* keep last: one past the lowest code */
} tt_err;

/* A short lower-case description of code; never NULL, thread-safe. */
const char *tt_strerror(int code);

#endif
