/* main.c: `ser <command> [options]`, the single entry point; dispatches to commands.h. */
#include <stdio.h>
#include <string.h>

#include "mpi/commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"scan", cmd_scan, "list a corpus (per-speaker/label counts, skipped files; --csv manifest)"},
    {"features", cmd_features, "print the 40 x T MFCC matrix of one audio file (CSV or --npy)"},
    {"extract", cmd_extract, "extract the features of a corpus into one file (mpirun -np N)"},
    {"train", cmd_train, "train the CNN-LSTM with data parallelism (mpirun -np N)"},
    {"predict", cmd_predict, "predict the emotion of audio files with a trained model"},
    {"export", cmd_export, "export a checkpoint's weights as .npz (PyTorch state_dict names)"},
    {"info", cmd_info, "show what a checkpoint holds"},
    {"summary", cmd_summary, "print the model's layers, output shapes and parameter counts"},
    {"bench", cmd_bench, "measure training/inference throughput and the GEMM-bound limit"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f)
{
    fprintf(f, "usage: ser <command> [options]   (ser <command> --help for details)\n\n"
               "ser " SER_VERSION ": data-parallel speech emotion recognition "
               "(MFCC + CNN-LSTM, MPI)\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ser %s\n", SER_VERSION);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ser: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
