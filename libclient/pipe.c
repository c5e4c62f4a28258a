/* pipe.c — being written. */
#include "internal.h"
