// sipdetect command-line program: an IPFIX collector (RFC 7011) as a live
// source, for --ipfix-listen udp:ADDR:PORT and tcp:ADDR:PORT.
//
// Messages are decoded by the IPFIX file reader's decoder (ipfix_decoder.hpp),
// with templates kept per transport session and observation domain: over TCP
// a session is one connection (its templates are forgotten when it closes),
// over UDP it is one exporter address and port, whose templates expire when
// not refreshed for the template timeout (RFC 7011 §8.4). Every socket is
// non-blocking; next() never waits.
//
// Hostile input is counted and dropped, never trusted: a UDP datagram that is
// not one whole IPFIX message, or a message the decoder finds defective, is
// dropped (ipfix_defective_messages); a TCP peer whose stream does not frame
// as IPFIX messages (another version, a length below the header's) or that
// sends a defective message is disconnected (ipfix_peers_disconnected), since
// its stream cannot be trusted to be in step any more. Connections beyond
// max_connections and UDP exporters beyond max_udp_sessions are refused
// (ipfix_refused).
#pragma once

#include "ipfix_decoder.hpp"
#include "live_source.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sipdetect_cli {

struct ipfix_listen_address {
    enum class transport { udp, tcp } protocol = transport::udp;
    std::string host; // a numeric IPv4 or IPv6 address, without brackets
    std::uint16_t port = 0;
    std::string text; // as the user wrote it
};

// "udp:127.0.0.1:4739", "tcp:[::1]:4739", "tcp:::1:4739" (the last colon
// separates the port). Throws std::invalid_argument saying what is wrong.
ipfix_listen_address parse_ipfix_listen_address(std::string_view text);

class ipfix_listener final : public live_source {
public:
    static constexpr std::size_t max_connections = 256;
    static constexpr std::size_t max_udp_sessions = 65536;

    // Binds (and for TCP listens) now; throws input_exception when it cannot.
    ipfix_listener(ipfix_listen_address where, std::chrono::seconds template_timeout);
    ~ipfix_listener() override;

    pull next(input_record& out) override;
    int wait_fd() const noexcept override { return epoll_; }
    reader_counters counters() const override { return counters_; }
    std::string name() const override { return where_.text; }

    // The port bound, useful when the address asked for port 0.
    std::uint16_t local_port() const noexcept { return local_port_; }
    std::size_t open_connections() const noexcept { return connections_.size(); }
    std::size_t udp_sessions() const noexcept { return udp_sessions_.size(); }
    std::size_t templates() const noexcept { return decoder_.templates(); }

private:
    struct connection {
        int fd = -1;
        std::uint64_t session = 0;
        std::vector<std::uint8_t> buffer; // bytes received, not yet decoded from `start`
        std::size_t start = 0;
    };
    struct udp_session {
        std::uint64_t id = 0;
        ipfix_decoder::clock::time_point last_seen{};
    };

    bool start_next_message();
    bool start_udp_message(ipfix_decoder::clock::time_point now);
    bool start_tcp_message(ipfix_decoder::clock::time_point now);
    // Takes a whole message off the connection's buffer, reading more when it
    // holds none; false when none is complete (or the connection was closed).
    bool take_message(std::size_t index, ipfix_decoder::clock::time_point now);
    void accept_connections();
    void close_connection(std::size_t index);
    void drop_defective_message();
    void expire_udp_templates(ipfix_decoder::clock::time_point now);

    ipfix_listen_address where_;
    std::chrono::seconds template_timeout_;
    int socket_ = -1, epoll_ = -1;
    std::uint16_t local_port_ = 0;
    reader_counters counters_;
    ipfix_decoder decoder_{counters_};
    std::vector<std::uint8_t> datagram_;
    std::vector<connection> connections_;
    std::map<std::string, udp_session> udp_sessions_; // by the exporter's raw socket address
    std::uint64_t next_session_ = 1;
    bool decoding_ = false;          // decoder_ holds a message with records left
    std::size_t decoding_from_ = 0;  // for TCP: the connection it came from
    std::size_t cursor_ = 0;         // the connection read next
    std::size_t burst_ = 0;          // messages taken in a row from connections_[cursor_]
    bool accept_due_ = true;         // the connections had nothing: look for new ones first
    std::size_t messages_since_accept_ = 0;
    ipfix_decoder::clock::time_point next_expiry_{};
};

} // namespace sipdetect_cli
