#include <stddef.h>
/// Starts counting calls to malloc, calloc, realloc and posix_memalign in this process.
void allocation_counter_start(void);
/// Stops counting and returns the number of calls since the start.
long allocation_counter_stop(void);
