/*
 * tunnel: exposes one local TCP service through the Arrow Service, with the C API of
 * arrow-client. What camera firmware written in C does, in one file.
 *
 *   tunnel SERVER_HOST:PORT CA_FILE STATE_DIR TCP_SERVICE_HOST:PORT [--once]
 *
 * It registers with the Arrow Service at SERVER_HOST:PORT (whose certificate must chain
 * to CA_FILE), keeps its identity and status in STATE_DIR, and exposes the TCP service.
 * It runs until SIGINT or SIGTERM (with --once: until it is registered), then stops in
 * order. Log lines and state changes go to stderr; the client's UUID, MAC and, once it
 * is registered, its service table go to stdout. Exit status 0 after a clean stop.
 *
 * Build (docs/c-api.md):
 *   cargo build --release -p arrow-client-ffi
 *   cc -std=c99 -I crates/arrow-client-ffi/include crates/arrow-client-ffi/examples/tunnel.c \
 *      target/release/libarrow_client_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o tunnel
 *
 * Against the development service:
 *   protoctl arrow serve --bind 127.0.0.1:8900 --self-signed dev &
 *   ./tunnel 127.0.0.1:8900 dev/ca.pem state 127.0.0.1:22
 */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arrow_client.h"

/*
 * The main thread sleeps on a pipe. A byte wakes it: 's' from the signal handler (only
 * write(2) there: it is async-signal-safe), 'c' when the client is registered and 'x'
 * when it has stopped by itself, from the state callback (on the client's callback
 * thread, which must never block for long).
 */
static int wake_pipe[2] = {-1, -1};

static void wake(char why) {
    ssize_t n;
    do {
        n = write(wake_pipe[1], &why, 1);
    } while (n < 0 && errno == EINTR);
}

static void on_signal(int sig) {
    int saved = errno;
    (void)sig;
    wake('s');
    errno = saved;
}

static const char *state_name(ArrowState state) {
    switch (state) {
    case ARROW_STATE_CONNECTING: return "connecting";
    case ARROW_STATE_CONNECTED: return "connected";
    case ARROW_STATE_UNAUTHORIZED: return "unauthorized (pair this client in the Angelcam account)";
    case ARROW_STATE_DISCONNECTED: return "disconnected";
    case ARROW_STATE_STOPPED: return "stopped";
    default: return "unknown";
    }
}

static void on_state(void *user, ArrowState state) {
    (void)user;
    fprintf(stderr, "tunnel: state %s\n", state_name(state));
    if (state == ARROW_STATE_CONNECTED) {
        wake('c');
    } else if (state == ARROW_STATE_STOPPED) {
        wake('x');
    }
}

static void on_log(void *user, ArrowLogLevel level, const char *line) {
    static const char *const names[] = {"?", "error", "warn", "info", "debug", "trace"};
    (void)user;
    fprintf(stderr, "tunnel: [%s] %s\n", level <= ARROW_LOG_LEVEL_TRACE ? names[level] : "?",
            line);
}

/* Says what failed, with the library's message. */
static int fail(const char *what, ArrowResult code) {
    char message[512];
    arrow_last_error_message(message, sizeof message);
    fprintf(stderr, "tunnel: %s: %s (%s)\n", what, message, arrow_result_name(code));
    return 1;
}

/* Prints the service table the client announces now. */
static void print_services(const ArrowClient *client) {
    ArrowServiceTable *table = NULL;
    size_t i;
    if (arrow_client_services(client, &table) != ARROW_OK) {
        return;
    }
    for (i = 0; i < arrow_service_table_len(table); i++) {
        ArrowService service;
        if (arrow_service_table_get(table, i, &service) == ARROW_OK) {
            printf("service %u type 0x%04x %s%s\n", (unsigned)service.id,
                   (unsigned)service.wire_type, service.address, service.path);
        }
    }
    arrow_service_table_free(table);
    fflush(stdout);
}

/* Configures and starts the client. */
static ArrowResult start(char **argv, ArrowClient **client) {
    ArrowConfig *config = NULL;
    ArrowResult code = arrow_config_new(argv[1], &config);
    if (code == ARROW_OK) code = arrow_config_add_ca_file(config, argv[2]);
    if (code == ARROW_OK) code = arrow_config_set_state_dir(config, argv[3]);
    if (code == ARROW_OK) code = arrow_config_add_service(config, ARROW_SERVICE_KIND_TCP, argv[4]);
    if (code == ARROW_OK) code = arrow_config_set_state_callback(config, on_state, NULL);
    if (code == ARROW_OK) {
        code = arrow_config_set_log_callback(config, on_log, NULL, ARROW_LOG_LEVEL_INFO);
    }
    if (code == ARROW_OK) code = arrow_client_start(config, client);
    /* The client keeps nothing of the configuration. */
    arrow_config_free(config);
    return code;
}

int main(int argc, char **argv) {
    int once = argc == 6 && strcmp(argv[5], "--once") == 0;
    sigset_t stop_signals;
    struct sigaction action;
    ArrowClient *client = NULL;
    ArrowResult code;
    char uuid[ARROW_UUID_SIZE];
    uint8_t mac[6];
    int status = 0;

    if (argc != 5 && !once) {
        fprintf(stderr,
                "usage: tunnel SERVER_HOST:PORT CA_FILE STATE_DIR TCP_SERVICE_HOST:PORT [--once]\n");
        return 2;
    }
    if (arrow_api_version() != ARROW_API_VERSION) {
        fprintf(stderr, "tunnel: built for C API %d, the library has %u\n", ARROW_API_VERSION,
                (unsigned)arrow_api_version());
        return 2;
    }
    if (pipe(wake_pipe) != 0) {
        perror("tunnel: pipe");
        return 1;
    }
    /* The client's threads inherit this mask: SIGINT and SIGTERM reach the main thread
     * only, once it unblocks them below. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    code = start(argv, &client);
    if (code != ARROW_OK) {
        status = fail("cannot start the client", code);
        goto out;
    }
    if (arrow_client_uuid(client, uuid, sizeof uuid) == ARROW_OK &&
        arrow_client_mac(client, mac) == ARROW_OK) {
        printf("client %s mac %02x:%02x:%02x:%02x:%02x:%02x (library %s)\n", uuid, mac[0],
               mac[1], mac[2], mac[3], mac[4], mac[5], arrow_library_version());
        fflush(stdout);
    }
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);

    for (;;) {
        char why;
        ssize_t n = read(wake_pipe[0], &why, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n != 1 || why == 's' || why == 'x') {
            break;
        }
        /* 'c': registered. */
        print_services(client);
        if (once) {
            break;
        }
    }

    /* The same orderly stop as `protoctl arrow run` on SIGTERM; no callback runs after. */
    code = arrow_client_stop(client);
    if (code != ARROW_OK) {
        status = fail("the client stopped with an error", code);
    } else {
        fprintf(stderr, "tunnel: stopped\n");
    }
    arrow_client_free(client);
out:
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    return status;
}
