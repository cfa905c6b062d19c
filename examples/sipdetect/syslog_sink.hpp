// sipdetect command-line program: events as RFC 5424 syslog messages.
//
//   <PRI>1 TIMESTAMP HOSTNAME sipdetect PROCID MSGID - BOM MSG
//
// PRI is facility * 8 + the event's severity, TIMESTAMP the wall clock in
// UTC, MSGID the detector (sipscan, sipproxy), no structured data, and MSG
// the event in the chosen format. MSG is always valid UTF-8, so it starts
// with the BOM, as RFC 5424 §6.4 requires of a UTF-8 MSG.
//
// Transports: a local datagram socket (/dev/log or a path), UDP (one message
// per datagram, RFC 5426) or TCP (octet counting, "LEN SP MSG", RFC 6587).
// Sending never waits long: a send that cannot finish within a second, a
// refused or broken connection, or a receiver that is down loses the event
// (counted); a TCP connection is opened again at once after a failure, and
// after a failed reconnect attempt not before a backoff of 1 s doubling to 60 s.
#pragma once

#include "event_formats.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

namespace sipdetect_cli {

struct syslog_target {
    enum class transport { unix_datagram, udp, tcp };
    transport kind = transport::unix_datagram;
    std::string path = "/dev/log"; // unix_datagram
    std::string host, port;        // udp, tcp
};

// "unix", "unix:PATH", "udp:HOST:PORT", "tcp:HOST:PORT" (an IPv6 HOST in
// brackets: "udp:[::1]:514"); nullopt for anything else.
std::optional<syslog_target> parse_syslog_target(std::string_view text);

// "kern", "user", "daemon", "auth", "local0" ... "local7" and the other
// RFC 5424 facility names, or a number 0-23; nullopt for anything else.
std::optional<unsigned> parse_syslog_facility(std::string_view text);

// The RFC 5424 message (without TCP framing) for one event, at wall time `now`.
std::string rfc5424_message(const formatted_event& event, unsigned facility, std::string_view hostname,
                            std::chrono::system_clock::time_point now);

// This host's name as RFC 5424 HOSTNAME allows it (printable ASCII, 1-255), else "-".
std::string syslog_hostname();

struct syslog_counters {
    std::uint64_t sent = 0, lost = 0, connects = 0, connect_failures = 0;
};

class syslog_sink {
public:
    // Resolves the address; throws output_error when it cannot.
    syslog_sink(syslog_target target, unsigned facility);
    ~syslog_sink();
    syslog_sink(const syslog_sink&) = delete;
    syslog_sink& operator=(const syslog_sink&) = delete;

    void send(const formatted_event& event);
    const syslog_counters& counters() const noexcept { return counters_; }
    std::string name() const;

private:
    bool connect_now();
    bool transmit(const std::string& frame);
    bool peer_closed() const;
    void disconnect();

    syslog_target target_;
    unsigned facility_;
    std::string hostname_;
    std::vector<sockaddr_storage> addresses_;
    std::vector<socklen_t> address_lengths_;
    int fd_ = -1;
    std::chrono::steady_clock::time_point retry_at_{};
    std::chrono::seconds backoff_{1};
    syslog_counters counters_;
    bool reported_down_ = false;
};

} // namespace sipdetect_cli
