/* process.c — being written. */
#include "internal.h"
