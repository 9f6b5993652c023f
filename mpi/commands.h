/* commands.h: the subcommands of the `ser` program. Each takes (argc, argv) with argv[0] the
 * command name and returns the process exit code (0 ok, 1 usage/input, 2 I/O, 3 numerical,
 * 75 stopped by a signal after a checkpoint). Commands that use MPI initialise it themselves. */
#ifndef SER_COMMANDS_H
#define SER_COMMANDS_H

int cmd_features(int argc, char **argv); /* cmd_features.c: MFCC matrix of one file */
int cmd_scan(int argc, char **argv);     /* cmd_scan.c: corpus manifest and skip list */
int cmd_extract(int argc, char **argv);  /* extract.c: sharded feature extraction (MPI) */
int cmd_summary(int argc, char **argv);  /* cmd_summary.c: model layer table */
int cmd_bench(int argc, char **argv);    /* cmd_bench.c: training/inference throughput */
int cmd_train(int argc, char **argv);    /* train.c: data-parallel training (MPI) */
int cmd_predict(int argc, char **argv);  /* cmd_model.c: emotions of audio files */
int cmd_export(int argc, char **argv);   /* cmd_model.c: weights as .npz for PyTorch */
int cmd_info(int argc, char **argv);     /* cmd_model.c: what a checkpoint holds */

#endif
