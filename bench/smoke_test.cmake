# smoke_test.cmake: CTest driver for bench_allreduce_smoke. Runs a short `loco bench allreduce`
# (2 peers, 1 MiB, 3 iterations, no baselines) and fails unless it exits 0 and prints the line
# saying the first result was verified on every peer.
execute_process(
  COMMAND ${LOCO} bench allreduce --peers 2 --size 1M --iters 3 --warmup 1 --baselines none
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 100)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "loco bench exited with '${rc}'\n${err}")
endif()
if(NOT out MATCHES "loco: first result verified exactly on 2/2 peers")
  message(FATAL_ERROR "no verification line in the output\n${err}")
endif()
