/* ldb.c - opening, error mapping and full-disk recovery shared by the node's two LevelDB
 * databases (ldb.h says why a failed write means a reopen). */
#include "ldb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define LDB_DIR_ENTRIES_MAX 100000 /* a LevelDB directory holds far fewer files */

#include <leveldb/c.h>

int ldb_error(char *err, const char *what) {
    QC_ASSERT(err != NULL);
    int rc = strncmp(err, "Corruption", 10) == 0 || strstr(err, ": Corruption") ? QC_ERR_CORRUPT
                                                                                 : QC_ERR_IO;
    QC_ERROR("%s: leveldb: %s%s", what, err,
             rc == QC_ERR_CORRUPT ? " (the database is damaged: docs/OPERATIONS.md)" : "");
    leveldb_free(err);
    return rc;
}

/* The directory exists, as a directory, with mode 0700 (databases hold the ledger and this
 * node's votes: nobody else on the host needs to read them). */
static int dir_private(const char *dir) {
    if (qc_mkdirs(dir, 0700) != QC_OK) {
        QC_ERROR("cannot create %s: %s", dir, strerror(errno));
        return QC_ERR_IO;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        QC_ERROR("%s is not a directory", dir);
        return QC_ERR_IO;
    }
    if ((st.st_mode & 0777) != 0700) {
        if (chmod(dir, 0700) != 0) {
            QC_ERROR("cannot restrict %s to mode 0700: %s", dir, strerror(errno));
            return QC_ERR_PERM;
        }
        QC_WARN("%s was mode %03o; now 0700", dir, (unsigned)(st.st_mode & 0777));
    }
    return QC_OK;
}

int ldb_open(leveldb_t **db, leveldb_options_t *opts, const char *dir) {
    *db = NULL;
    int rc = dir_private(dir);
    if (rc != QC_OK) return rc;
    char *err = NULL;
    *db = leveldb_open(opts, dir, &err);
    if (err != NULL) {
        if (*db) leveldb_close(*db);
        *db = NULL;
        return ldb_error(err, dir);
    }
    return *db ? QC_OK : QC_ERR_IO;
}

/* Bytes of write-ahead log in dir: what recovery replays and writes out as a level-0 table
 * (about as large: the same keys and values, plus a bloom filter and an index). Bounded by
 * LDB_DIR_ENTRIES_MAX entries. */
static uint64_t log_bytes(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    uint64_t total = 0;
    struct dirent *e;
    for (int i = 0; i < LDB_DIR_ENTRIES_MAX && (e = readdir(d)) != NULL; i++) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0) continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) == 0) total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

int ldb_reopen(leveldb_t **db, leveldb_options_t *opts, const char *dir) {
    struct statvfs fs;
    if (statvfs(dir, &fs) != 0) {
        QC_ERROR("%s: cannot read the free space: %s", dir, strerror(errno));
        return QC_ERR_IO;
    }
    uint64_t free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
    uint64_t logs = log_bytes(dir);
    uint64_t need = logs + logs / 8 + LDB_REOPEN_MARGIN_BYTES;
    if (free_bytes < need) {
        QC_DEBUG("%s: %llu bytes free, a reopen needs %llu; still waiting", dir,
                 (unsigned long long)free_bytes, (unsigned long long)need);
        return QC_ERR_IO;
    }
    if (*db) leveldb_close(*db);
    *db = NULL;
    int rc = ldb_open(db, opts, dir);
    if (rc == QC_OK)
        QC_WARN("%s: reopened after a failed write (%llu bytes free); LevelDB dropped any torn "
                "record at the end of its log", dir, (unsigned long long)free_bytes);
    else
        QC_ERROR("%s: reopening after a failed write: %s; will retry", dir, qc_strerror(rc));
    return rc;
}
