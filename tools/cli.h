/* cli.h - the qchain command-line tool: one table of commands (cli_commands) and the helpers
 * every command shares. A new command is one function plus one table entry in cli.c.
 *
 * Conventions every command follows (docs/GENESIS.md shows the key/genesis commands):
 *   - options parsed with getopt_long; -h/--help prints usage to stdout and exits 0;
 *   - --json prints the command's result as one JSON object on stdout;
 *   - errors go to stderr as "qchain CMD: error: ...";
 *   - exit status CLI_EXIT_OK (0) success, CLI_EXIT_FAIL (1) failure or invalid input,
 *     CLI_EXIT_USAGE (2) bad command line. */
#ifndef QC_CLI_H
#define QC_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* One command. run gets argv[0] = "qchain NAME" and the command's own arguments after it;
 * argv's pointers may be permuted (getopt_long), the strings are not written. */
typedef struct {
    const char *name;
    const char *summary;     /* one line for `qchain --help` */
    int (*run)(int argc, char **argv);
} cli_cmd_t;

/* The command table, terminated by an entry with name NULL. */
extern const cli_cmd_t cli_commands[];

/* The command called name, or NULL. */
const cli_cmd_t *cli_find(const char *name);
/* The whole tool: `qchain COMMAND ARGS...`, `qchain help [COMMAND]`, `qchain --help`. */
int cli_main(int argc, char **argv);

/* Commands (tools/cmd_*.c). */
int cli_keygen(int argc, char **argv);
int cli_genesis(int argc, char **argv);
int cli_testnet(int argc, char **argv);
int cli_anchor(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_status_proof(int argc, char **argv);
int cli_city_log(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_receipt(int argc, char **argv);
int cli_block(int argc, char **argv);
int cli_member(int argc, char **argv);
int cli_endorse(int argc, char **argv);
int cli_revoke(int argc, char **argv);
int cli_supersede(int argc, char **argv);
int cli_dataset(int argc, char **argv);

/* ---- helpers shared by the commands ---- */

/* Resets getopt so a command can be run more than once in one process (tests do). */
void cli_getopt_reset(void);
/* Prints "qchain CMD: error: <msg>" to stderr; returns CLI_EXIT_FAIL. cmd is argv[0]. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the message and "Try 'CMD --help'." to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Handles the getopt_long result for '?' (unknown option / missing argument) and stray
 * positional arguments: returns CLI_EXIT_USAGE after explaining, or -1 when all is well. */
int cli_check_args(const char *cmd, int argc, char **argv, bool saw_bad_option);
/* Parses a decimal integer option value in min..max; on error explains and returns false. */
bool cli_parse_u64(const char *cmd, const char *option, const char *s, uint64_t min,
                   uint64_t max, uint64_t *out);
/* Prints obj as indented JSON plus a newline on stdout and releases it (reference stolen).
 * Returns CLI_EXIT_OK, or CLI_EXIT_FAIL if obj is NULL (out of memory). */
int cli_print_json(const char *cmd, json_t *obj);
/* Current Unix time in milliseconds. */
uint64_t cli_now_ms(void);

#endif
