/* cmd_features.c: placeholder until the dsp work lands (being written now). */
#include <stdio.h>

#include "commands.h"

int cmd_features(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "%s: not implemented yet\n", argv[0]);
    return 1;
}
