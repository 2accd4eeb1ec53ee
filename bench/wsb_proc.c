/*
 * wsb_proc.c -- sum VmRSS over a process tree from /proc.
 *
 * /proc/PID/stat is "pid (comm) state ppid ...", where comm may itself
 * contain spaces and parentheses; the fields after it start after the
 * *last* ')'. The tree is found by listing every process's parent once and
 * then walking down from the root pid.
 */
#include "wsb_proc.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp {
    pid_t pid, ppid;
};

static long rss_kb(pid_t pid) {
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f) return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    char state;
    int ppid;

    if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2) return -1;
    return (pid_t)ppid;
}

long wsb_proc_tree_rss_kb(pid_t root, int *nprocs) {
    struct pp *all = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;

    if (!d) return -1;
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct pp *na = realloc(all, ncap * sizeof(*na));

            if (!na) break;
            all = na;
            cap = ncap;
        }
        all[n].pid = (pid_t)atoi(de->d_name);
        all[n].ppid = parent_of(all[n].pid);
        n++;
    }
    closedir(d);

    /* Breadth-first from root: tree[] holds the pids found so far. */
    pid_t *tree = malloc((n + 1) * sizeof(*tree));
    size_t nt = 0;
    long total = -1;

    if (!tree) {
        free(all);
        return -1;
    }
    tree[nt++] = root;
    for (size_t k = 0; k < nt; k++)
        for (size_t i = 0; i < n; i++)
            if (all[i].ppid == tree[k] && nt < n + 1) tree[nt++] = all[i].pid;
    for (size_t k = 0; k < nt; k++) {
        long kb = rss_kb(tree[k]);

        if (k == 0 && kb < 0) break; /* the root is gone */
        if (kb > 0) total = (total < 0 ? 0 : total) + kb;
    }
    if (nprocs) *nprocs = (int)nt;
    free(tree);
    free(all);
    return total;
}
