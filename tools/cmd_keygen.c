/* cmd_keygen.c - `qchain keygen`: one new key pair for a city's node, seal or admin role. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "keys.h"

static const char k_usage[] =
    "Usage: qchain keygen --role node|seal|admin --out FILE [OPTIONS]\n"
    "\n"
    "Makes a new Ed25519 key pair for one of a city's three roles. The secret key goes to FILE\n"
    "(mode 0600) and the public key to FILE with \".key\" replaced by \".pub\" (or FILE.pub).\n"
    "Existing files are never replaced. Formats: docs/GENESIS.md.\n"
    "\n"
    "Options:\n"
    "  --role ROLE            node  (consensus votes and peer-link identity)\n"
    "                         seal  (signs the city's anchored records)\n"
    "                         admin (signs governance)\n"
    "  --out FILE             secret key file to create\n"
    "  --pub FILE             public key file to create (default: derived from FILE)\n"
    "  --encrypt              encrypt the secret key with a passphrase (Argon2id, secretbox)\n"
    "  --passphrase-file F    the passphrase is F's first line (F must be mode 0600);\n"
    "                         default: the environment variable QCHAIN_PASSPHRASE\n"
    "  --kdf COST             Argon2id cost: interactive (default, 64 MiB), moderate\n"
    "                         (256 MiB), sensitive (1 GiB); min is for tests only\n"
    "  --json                 print the result as JSON\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 key written; 1 failure (a file exists, I/O, no passphrase);\n"
    "2 usage error.\n";

typedef struct {
    const char *role, *out, *pub, *passphrase_file, *kdf;
    bool encrypt, json;
} keygen_opts_t;

/* Parses argv into *o. Returns -1 to go on, or an exit status. */
static int parse_opts(int argc, char **argv, keygen_opts_t *o) {
    enum { OPT_ROLE = 256, OPT_OUT, OPT_PUB, OPT_ENCRYPT, OPT_PASSFILE, OPT_KDF, OPT_JSON };
    static const struct option opts[] = {
        {"role", required_argument, NULL, OPT_ROLE},
        {"out", required_argument, NULL, OPT_OUT},
        {"pub", required_argument, NULL, OPT_PUB},
        {"encrypt", no_argument, NULL, OPT_ENCRYPT},
        {"passphrase-file", required_argument, NULL, OPT_PASSFILE},
        {"kdf", required_argument, NULL, OPT_KDF},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool bad = false;
    cli_getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case OPT_ROLE: o->role = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_PUB: o->pub = optarg; break;
        case OPT_ENCRYPT: o->encrypt = true; break;
        case OPT_PASSFILE: o->passphrase_file = optarg; break;
        case OPT_KDF: o->kdf = optarg; break;
        case OPT_JSON: o->json = true; break;
        case 'h': fputs(k_usage, stdout); return CLI_EXIT_OK;
        default: bad = true; break;
        }
    }
    int rc = cli_check_args(argv[0], argc, argv, bad);
    if (rc >= 0) return rc;
    if (o->role == NULL) return cli_usage_error(argv[0], "--role is required");
    if (o->out == NULL) return cli_usage_error(argv[0], "--out is required");
    if (!o->encrypt && (o->passphrase_file != NULL || o->kdf != NULL)) {
        return cli_usage_error(argv[0], "--passphrase-file and --kdf need --encrypt");
    }
    return -1;
}

int cli_keygen(int argc, char **argv) {
    const char *cmd = argv[0];
    keygen_opts_t o = {0};
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) return rc;
    keys_role_t role;
    if (keys_role_parse(o.role, &role) != QC_OK) {
        return cli_usage_error(cmd, "--role: expected node, seal or admin, got '%s'", o.role);
    }
    keys_kdf_t kdf = keys_kdf_default();
    if (o.kdf != NULL && keys_kdf_parse(o.kdf, &kdf) != QC_OK) {
        return cli_usage_error(cmd, "--kdf: expected interactive, moderate, sensitive or min");
    }
    char pub[4096], reason[512] = "", pass[KEYS_PASSPHRASE_MAX + 1] = "";
    if (o.pub == NULL && keys_public_path(o.out, pub, sizeof pub) != QC_OK) {
        return cli_usage_error(cmd, "--out: path too long");
    }
    if (o.encrypt &&
        keys_passphrase_get(o.passphrase_file, pass, sizeof pass, reason, sizeof reason) != QC_OK) {
        return cli_fail(cmd, "%s", reason);
    }
    qc_pubkey_t pk;
    const char *pub_path = o.pub != NULL ? o.pub : pub;
    rc = keys_create(role, o.out, pub_path, o.encrypt ? pass : NULL, &kdf, &pk, reason,
                     sizeof reason);
    sodium_memzero(pass, sizeof pass);
    if (rc != QC_OK) return cli_fail(cmd, "%s", reason);
    char hex[2 * QC_PUBKEY_BYTES + 1];
    qc_hex_encode(hex, pk.b, QC_PUBKEY_BYTES);
    if (o.json) {
        return cli_print_json(cmd, json_pack("{s:s, s:s, s:s, s:s, s:b}", "role", o.role,
                                             "public", hex, "secret_file", o.out, "public_file",
                                             pub_path, "encrypted", o.encrypt));
    }
    printf("%s key %s\nsecret key: %s (mode 0600%s)\npublic key: %s\n", o.role, hex, o.out,
           o.encrypt ? ", encrypted" : "", pub_path);
    return CLI_EXIT_OK;
}
