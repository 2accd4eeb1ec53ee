/*
 * linebuf.c -- every test program writes its stdout a line at a time, even
 * into a pipe.
 *
 * make test shows each program's output and copies it through tee
 * (scripts/test-record.sh). cmocka writes its progress ("[ RUN      ]",
 * "[       OK ]") to stdout and its verdicts and errors to stderr; with
 * stdout fully buffered, as it is in a pipe, a failure's message would
 * come out before the lines of the test it belongs to. Linked into every
 * test program with the rest of test/support/, it runs before main().
 */
#include <stdio.h>

__attribute__((constructor)) static void ts_line_buffered_stdout(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
}
