/* qchain_main.c - entry point of the qchain tool; the commands live in tools/cli.c's table. */
#include "cli.h"

int main(int argc, char **argv) { return cli_main(argc, argv); }
