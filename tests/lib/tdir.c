/* tdir.c - scratch directories, files and stdout capture for filesystem tests. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tdir.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qc.h"
#include "tmpdir.h"

/* Scratch directories come from tmpdir.c (shared with the LevelDB tests); here a failure is a
 * test-setup bug and aborts. */
void tdir_make(char out[TDIR_PATH_MAX], const char *tag) {
    QC_ASSERT(tmpdir_make(out, TDIR_PATH_MAX, tag) == 0);
}

void tdir_remove(const char *dir) { (void)tmpdir_remove(dir); }

void tdir_path(char out[TDIR_PATH_MAX], const char *dir, const char *name) {
    int n = snprintf(out, TDIR_PATH_MAX, "%s/%s", dir, name);
    QC_ASSERT(n > 0 && n < TDIR_PATH_MAX);
}

void tdir_write(char out[TDIR_PATH_MAX], const char *dir, const char *name, const void *data,
                size_t len, unsigned mode) {
    char path[TDIR_PATH_MAX];
    tdir_path(path, dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);
    QC_ASSERT(fd >= 0);
    QC_ASSERT(fchmod(fd, (mode_t)mode) == 0);
    QC_ASSERT(write(fd, data, len) == (ssize_t)len);
    QC_ASSERT(close(fd) == 0);
    if (out != NULL) memcpy(out, path, strlen(path) + 1);
}

char *tdir_read(const char *path, size_t *len) {
    uint8_t *buf = NULL;
    size_t n = 0;
    QC_ASSERT(qc_file_read(path, 1u << 24, &buf, &n) == QC_OK);
    if (len != NULL) *len = n;
    return (char *)buf;
}

unsigned tdir_mode(const char *path) {
    struct stat st;
    QC_ASSERT(stat(path, &st) == 0);
    return (unsigned)(st.st_mode & 07777);
}

static int g_saved_stdout = -1;
static FILE *g_capture;

void tdir_capture_begin(void) {
    QC_ASSERT(g_saved_stdout < 0);
    fflush(stdout);
    g_capture = tmpfile();
    QC_ASSERT(g_capture != NULL);
    g_saved_stdout = dup(STDOUT_FILENO);
    QC_ASSERT(g_saved_stdout >= 0);
    QC_ASSERT(dup2(fileno(g_capture), STDOUT_FILENO) >= 0);
}

char *tdir_capture_end(void) {
    QC_ASSERT(g_saved_stdout >= 0);
    fflush(stdout);
    QC_ASSERT(dup2(g_saved_stdout, STDOUT_FILENO) >= 0);
    close(g_saved_stdout);
    g_saved_stdout = -1;
    QC_ASSERT(fseek(g_capture, 0, SEEK_END) == 0);
    long n = ftell(g_capture);
    QC_ASSERT(n >= 0);
    char *buf = malloc((size_t)n + 1);
    QC_ASSERT(buf != NULL);
    rewind(g_capture);
    QC_ASSERT(fread(buf, 1, (size_t)n, g_capture) == (size_t)n);
    buf[n] = '\0';
    fclose(g_capture);
    g_capture = NULL;
    return buf;
}
