# jobs/*.sbatch on a real one-node SLURM (slurmctld + slurmd + munge, started and stopped by
# tests/slurm_cluster.sh inside each test's work directory): submit (srun and mpirun launch,
# weights equal jobs/train-local.sh's), preempt (SIGUSR1 -> checkpoint, exit 75, self-requeue,
# resume, weights equal an uninterrupted run's), sweep (job array + jobs/sweep-table.py).
# Skipped (exit 77) only when the SLURM/munge packages are not installed or not root.
# RUN_SERIAL: SLURM's ports 6817/6818 allow one cluster per machine.
# SER_MPI_ENV turns leak detection off for MPI runs in sanitizer builds (tests/CMakeLists.txt);
# the jobs inherit it through sbatch.
set(SER_SLURM_ENV ${SER_MPI_ENV})
foreach(part submit preempt sweep)
  add_test(NAME slurm_${part}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_slurm.sh ${part} ${SER_BIN}
                   ${CMAKE_BINARY_DIR}/corpus10 ${CMAKE_CURRENT_BINARY_DIR}/slurm-${part}
                   ${CMAKE_SOURCE_DIR})
  set_tests_properties(slurm_${part} PROPERTIES ENVIRONMENT "${SER_SLURM_ENV}"
                       FIXTURES_REQUIRED corpus10 RUN_SERIAL TRUE TIMEOUT 600
                       SKIP_RETURN_CODE 77)
endforeach()
