/* listen_errors_test.c: the C API's answers when it cannot listen (a busy port, an address that
 * does not resolve, a port below 1024 without the right to it) and its acceptance of options
 * structs from older headers (a smaller struct_size). Each failure must return the status loco.h
 * documents and a message naming host:port; none may crash. Not here: the happy paths
 * (smoke_test.c). Exit code 0 = pass. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loco/loco.h"

static int failures = 0;

#define EXPECT(cond)                                                              \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: expected %s (last error: %s)\n", __FILE__, __LINE__, \
              #cond, loco_last_error());                                          \
      ++failures;                                                                 \
    }                                                                             \
  } while (0)

/* Tries a coordinator on host:port; expects `want` and a message that contains `needle`. */
static void expect_listen_failure(const char* host, uint16_t port, loco_status_t want,
                                  const char* needle) {
  loco_coordinator_options_t o;
  loco_coordinator_t* c = NULL;
  loco_status_t got;
  loco_coordinator_options_init(&o);
  o.host = host;
  o.port = port;
  got = loco_coordinator_create(&o, &c);
  if (got != want) {
    fprintf(stderr, "%s:%u: got %s, want %s (%s)\n", host, (unsigned)port, loco_status_name(got),
            loco_status_name(want), loco_last_error());
    ++failures;
  }
  EXPECT(c == NULL);
  if (strstr(loco_last_error(), needle) == NULL) {
    fprintf(stderr, "%s:%u: message '%s' does not name '%s'\n", host, (unsigned)port,
            loco_last_error(), needle);
    ++failures;
  }
  loco_coordinator_destroy(c);
}

static void test_busy_port_and_bad_address(void) {
  loco_coordinator_options_t o;
  loco_coordinator_t* first = NULL;
  loco_comm_options_t po;
  loco_comm_t* comm = NULL;
  char where[64];
  uint16_t busy;
  loco_coordinator_options_init(&o);
  EXPECT(loco_coordinator_create(&o, &first) == LOCO_OK);
  if (first == NULL) return;
  busy = loco_coordinator_port(first);
  snprintf(where, sizeof(where), "127.0.0.1:%u", (unsigned)busy);

  expect_listen_failure("127.0.0.1", busy, LOCO_FAILED_PRECONDITION, where);
  expect_listen_failure("999.1.1.1", 7000, LOCO_INVALID_ARGUMENT, "999.1.1.1:7000");

  /* The data-plane listener of a communicator, on the same busy port. */
  loco_comm_options_init(&po);
  po.coordinator_port = busy;
  po.data_port = busy;
  po.connect_timeout_ms = 2000;
  EXPECT(loco_comm_create(&po, &comm) == LOCO_OK);
  if (comm != NULL) {
    EXPECT(loco_comm_connect(comm) == LOCO_FAILED_PRECONDITION);
    EXPECT(strstr(loco_last_error(), where) != NULL);
    loco_comm_destroy(comm);
  }
  loco_coordinator_destroy(first);
}

static void test_older_struct_sizes(void) {
  loco_coordinator_options_t o;
  loco_coordinator_t* c = NULL;
  loco_comm_options_t po;
  loco_comm_t* comm = NULL;
  const uint32_t v1_coordinator =
      (uint32_t)(offsetof(loco_coordinator_options_t, join_window_ms) + sizeof(uint32_t));

  /* A struct ending at API version 1's last field (no tail padding) is accepted, and read. */
  loco_coordinator_options_init(&o);
  EXPECT(v1_coordinator < sizeof(o)); /* else this case says nothing */
  o.struct_size = v1_coordinator;
  o.heartbeat_period_ms = 100;
  o.heartbeat_timeout_ms = 50; /* read, so rejected: the timeout must exceed the period */
  EXPECT(loco_coordinator_create(&o, &c) == LOCO_INVALID_ARGUMENT);
  EXPECT(strstr(loco_last_error(), "heartbeat") != NULL);
  o.heartbeat_timeout_ms = 1000;
  EXPECT(loco_coordinator_create(&o, &c) == LOCO_OK);
  EXPECT(c != NULL && loco_coordinator_port(c) != 0);
  loco_coordinator_destroy(c);
  c = NULL;

  /* Shorter than any header ever was, or longer than this library knows: rejected. */
  o.struct_size = (uint32_t)offsetof(loco_coordinator_options_t, join_window_ms);
  EXPECT(loco_coordinator_create(&o, &c) == LOCO_INVALID_ARGUMENT);
  EXPECT(strstr(loco_last_error(), "struct_size") != NULL);
  o.struct_size = (uint32_t)sizeof(o) + 8;
  EXPECT(loco_coordinator_create(&o, &c) == LOCO_INVALID_ARGUMENT);
  EXPECT(c == NULL);

  loco_comm_options_init(&po);
  po.coordinator_port = 7000;
  po.struct_size = (uint32_t)(offsetof(loco_comm_options_t, stripes) + sizeof(uint32_t));
  EXPECT(loco_comm_create(&po, &comm) == LOCO_OK);
  loco_comm_destroy(comm);
  comm = NULL;
  po.struct_size = (uint32_t)offsetof(loco_comm_options_t, stripes);
  EXPECT(loco_comm_create(&po, &comm) == LOCO_INVALID_ARGUMENT);
  EXPECT(comm == NULL);
}

/* Last: it gives up root for good. */
static void test_privileged_port_as_non_root(void) {
  FILE* f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
  int start = 1024;
  if (f != NULL) {
    if (fscanf(f, "%d", &start) != 1) start = 1024;
    fclose(f);
  }
  if (start <= 1) {
    printf("SKIP privileged port: every port is unprivileged here\n");
    return;
  }
  if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
    printf("SKIP privileged port: cannot drop root\n");
    return;
  }
  if (geteuid() == 0) return;
  expect_listen_failure("127.0.0.1", 1, LOCO_UNAVAILABLE, "127.0.0.1:1");
}

int main(void) {
  test_busy_port_and_bad_address();
  test_older_struct_sizes();
  test_privileged_port_as_non_root();
  if (failures != 0) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("listen_errors_test: pass\n");
  return 0;
}
