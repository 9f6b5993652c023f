/* fuzz_config.c: the config parser, cli_config_text over `ser train`'s option table
 * (mpi/cli.h, mpi/train.h), on a struct dist_train_cfg filled by cli_defaults.
 *
 * A refused input must come with a message. After a successful parse, cli_dump's text (what
 * a run writes as config.txt and stores in its checkpoints) must parse back, over fresh
 * defaults, to a configuration whose dump is the same text: a run can always be resumed
 * with exactly its settings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/train.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dist_train_cfg cfg, again;
    struct err e = {0};
    cli_defaults(&dist_train_options, &cfg);
    int rc = cli_config_text(&dist_train_options, (const char *)data, size, "fuzz", 0, &cfg, &e);
    fuzz_expect_valid(rc, e.msg);
    if (rc != 0) {
        FUZZ_CHECK(e.msg[0], "parse failed without a message");
        return 0;
    }
    char *dump = cli_dump(&dist_train_options, &cfg);
    FUZZ_CHECK(dump, "cli_dump: out of memory");
    cli_defaults(&dist_train_options, &again);
    rc = cli_config_text(&dist_train_options, dump, strlen(dump), "dump", 0, &again, &e);
    FUZZ_CHECK(rc == 0, "the dump of an accepted configuration does not parse: %s\n%s", e.msg,
               dump);
    char *dump2 = cli_dump(&dist_train_options, &again);
    FUZZ_CHECK(dump2, "cli_dump: out of memory");
    FUZZ_CHECK(strcmp(dump, dump2) == 0, "the dump does not read back unchanged:\n%s---\n%s", dump,
               dump2);
    free(dump);
    free(dump2);
    return 0;
}
