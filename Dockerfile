# odin-ws container image: a Maven build stage, then a JRE 17 runtime running as a fixed non-root user.
#   docker build -t odin-ws .                                   # public images (Maven and Eclipse Temurin)
#   scripts/images                                              # this machine: local base images, podman
# BUILD_IMAGE needs a JDK 17 and Maven; BASE needs a JRE 17, bash and useradd (Debian or Ubuntu based).
ARG BUILD_IMAGE=maven:3.9-eclipse-temurin-17
ARG BASE=eclipse-temurin:17-jre

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# dependencies first: this layer stays cached while only the sources change
COPY pom.xml ./
RUN mvn -B -ntp -q dependency:go-offline -DexcludeArtifactIds=jmh-core,jmh-generator-annprocess
COPY src/main ./src/main
RUN mvn -B -ntp -q package -Dmaven.test.skip=true

FROM ${BASE}
ARG ODIN_UID=10001
# a fixed UID/GID so volume permissions and Kubernetes' runAsUser/fsGroup can name it
RUN groupadd --system --gid "${ODIN_UID}" odin \
 && useradd --system --uid "${ODIN_UID}" --gid odin --home-dir /opt/odin-ws --shell /usr/sbin/nologin odin \
 && mkdir -p /opt/odin-ws/conf \
 && chown -R odin:odin /opt/odin-ws
WORKDIR /opt/odin-ws
COPY --from=build /src/target/odin-ws.jar /opt/odin-ws/odin-ws.jar
COPY conf/cluster /opt/odin-ws/conf/cluster
COPY scripts/container-healthcheck /usr/local/bin/odin-healthcheck

# The README's JVM options (scripts/gateway-jvm-options.sh), with the heap's bound a share of the container's
# memory limit instead of 1 GiB: G1 keeps little free heap committed (MinHeapFreeRatio/MaxHeapFreeRatio), so an
# idle-heavy node stays small and targeted p99 held best of the options measured (docs/benchmarks.md); the rest of
# the limit is for direct buffers, thread stacks, metaspace. A node out of heap exits (the orchestrator restarts it).
# JAVA_OPTS is added after these, so `-e JAVA_OPTS=-XX:MaxRAMPercentage=50` or an explicit -Xmx overrides them.
ENV JAVA_HEAP_OPTS="-XX:MaxRAMPercentage=60 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError" \
    JAVA_OPTS="" \
    ODIN_CLUSTER_PORT=5701 \
    ODIN_CLUSTER_EVENT_BUS_PORT=5801

# 3001 WebSocket, 3004 management (publish API, health, /metrics, status page), 5701 Hazelcast, 5801 event bus
EXPOSE 3001 3004 5701 5801
USER ${ODIN_UID}:${ODIN_UID}
# /health/ready over bash's /dev/tcp: no curl needed in the image. Six misses (a minute) before "unhealthy" also
# cover the start (dockerfilelint misreads --start-period). Kubernetes: httpGet /health/ready on 3004 instead.
HEALTHCHECK --interval=10s --timeout=3s --retries=6 CMD ["/usr/local/bin/odin-healthcheck"]
# exec: the JVM becomes PID 1, so `docker stop`'s SIGTERM reaches it and the node leaves gracefully (clients get 1001)
ENTRYPOINT ["/bin/bash", "-c", "exec java $JAVA_HEAP_OPTS $JAVA_OPTS -jar /opt/odin-ws/odin-ws.jar \"$@\"", "odin-ws"]
