# Runs one libFuzzer target for a bounded time on a copy of its committed seed corpus, so that the
# repository is never written to. Fails on any finding (libFuzzer exits non-zero).
#   cmake -DFUZZER=<exe> -DSEEDS=<repo corpus dir> -DWORK=<build dir> -DSECONDS=<n> -P run_fuzzer.cmake
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB seeds ${SEEDS}/*)
if(seeds)
  file(COPY ${seeds} DESTINATION ${WORK}/corpus)
endif()
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -max_len=65536
          -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} found a problem (exit ${result}); reproducer in ${WORK}/artifacts")
endif()
