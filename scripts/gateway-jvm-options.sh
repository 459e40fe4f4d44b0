# shellcheck shell=bash
# The gateway's JVM options, as the README's run command gives them; sourced by the scripts that start a gateway
# (cluster-local, vertx, benchmarks, kafka-cold-start) and by .ci/run's smoke test, so what is measured is what
# operators run. The container image sets the same collector policy with a heap relative to its memory limit
# (Dockerfile, JAVA_HEAP_OPTS). JvmDefaultsTest keeps the README, this file and the Dockerfile in step.
#
# -Xmx1g: a bounded heap (the JVM's default is a quarter of the machine, and G1 grows towards it under load: a
#   node ended at 2 GB resident in issue 19's run); 1 GiB holds about 240,000 idle connections (README, sizing).
# -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20: G1 keeps little free heap committed, so an idle-heavy node
#   stays small (3.4 KiB resident per idle connection against 5 to 8 KiB on the JVM's defaults) and the p99 of
#   targeted delivery held best of the options measured (docs/benchmarks.md, "JVM options").
# -XX:+ExitOnOutOfMemoryError: a node out of heap exits and is restarted, as the image's does; without it an
#   OutOfMemoryError kills event loops one by one and the process lives on answering nothing (issue 33).
# shellcheck disable=SC2034  # used by the scripts that source this file
ODIN_GATEWAY_JVM_OPTS=(-Xmx1g -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 -XX:+ExitOnOutOfMemoryError)
