/* Self-check failure report. */
#include "hvsim.h"

void hv_check_failed(const char *file, int line, const char *what)
{
	printf("CHECK FAILED %s:%d: %s\n", file, line, what);
	hv_exit(1);
}
