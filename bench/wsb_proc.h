/*
 * wsb_proc.h -- the resident memory of a server and its worker processes.
 *
 * Reads /proc (Linux): VmRSS of /proc/PID/status for PID and every process
 * descended from it, so a pre-forking server (master + workers) is
 * measured as a whole. Used by idle mode's --server-pid to report memory
 * per connection.
 */
#ifndef WSB_PROC_H
#define WSB_PROC_H

#include <sys/types.h>

/* Sum of VmRSS in KiB over pid and all its descendants; *nprocs (may be
 * NULL) gets how many processes were summed. Returns -1 if pid does not
 * exist or /proc cannot be read. */
long wsb_proc_tree_rss_kb(pid_t pid, int *nprocs);

#endif
