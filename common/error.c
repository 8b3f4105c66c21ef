/* common/error.c: names for the error codes of common/error.h. */
#include "common/error.h"

const char *tt_strerror(int code)
{
	switch (code) {
	case TT_OK: return "success";
	case TT_ENOMEM: return "out of memory";
	case TT_EINVAL: return "invalid input";
	case TT_ERANGE: return "value out of range";
	case TT_ELIMIT: return "limit exceeded";
	case TT_EIO: return "input/output error";
	case TT_ENOTFOUND: return "not found";
	case TT_ESYNTAX: return "syntax error";
	case TT_EDB: return "database error";
	case TT_EEXIST: return "already exists";
	case TT_EPERM: return "permission denied";
	case TT_ECLOSED: return "closed";
	case TT_EAGAIN: return "try again";
	case TT_EPROTO: return "protocol error";
	case TT_EUNSUPPORTED: return "not supported";
	case TT_ECONFLICT: return "conflict";
	case TT_EFORMAT: return "bad file format";
	case TT_EFULL: return "storage full (no space left on the disk)";
	}
	return "unknown error";
}
