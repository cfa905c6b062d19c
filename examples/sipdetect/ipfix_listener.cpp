// sipdetect command-line program: the IPFIX listener (see ipfix_listener.hpp).
#include "ipfix_listener.hpp"

#include "readers_detail.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sipdetect_cli {

namespace {

// Over TCP, one connection gives at most this many messages in a row before the next is read.
constexpr std::size_t messages_per_turn = 64;
// While connections keep giving messages, new connections are accepted after this many.
constexpr std::size_t messages_between_accepts = 1024;
constexpr std::size_t read_chunk = 256 * 1024;
constexpr int udp_receive_buffer = 8 * 1024 * 1024;

[[noreturn]] void socket_failure(const ipfix_listen_address& where, const std::string& what) {
    throw input_exception(input_error{where.text, "", what + ": " + std::strerror(errno)});
}

// The address to bind, and its length.
std::pair<sockaddr_storage, socklen_t> socket_address(const ipfix_listen_address& where) {
    sockaddr_storage storage{};
    void* raw = &storage;
    if (auto* v4 = static_cast<sockaddr_in*>(raw); ::inet_pton(AF_INET, where.host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(where.port);
        return {storage, static_cast<socklen_t>(sizeof(sockaddr_in))};
    }
    auto* v6 = static_cast<sockaddr_in6*>(raw);
    if (::inet_pton(AF_INET6, where.host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(where.port);
        return {storage, static_cast<socklen_t>(sizeof(sockaddr_in6))};
    }
    throw input_exception(input_error{where.text, "", "\"" + where.host + "\" is not a numeric IPv4 or IPv6 address"});
}

std::uint16_t bound_port(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    void* raw = &storage;
    if (::getsockname(fd, static_cast<sockaddr*>(raw), &length) != 0) return 0;
    if (storage.ss_family == AF_INET) return ntohs(static_cast<sockaddr_in*>(raw)->sin_port);
    return ntohs(static_cast<sockaddr_in6*>(raw)->sin6_port);
}

bool watch(int epoll, int fd) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    return ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &e) == 0;
}

} // namespace

ipfix_listen_address parse_ipfix_listen_address(std::string_view text) {
    ipfix_listen_address a;
    a.text = std::string(text);
    const std::size_t colon = text.find(':');
    const std::string_view protocol = text.substr(0, colon);
    if (colon == std::string_view::npos || (protocol != "udp" && protocol != "tcp"))
        throw std::invalid_argument("\"" + a.text + "\" does not start with udp: or tcp:");
    a.protocol = protocol == "udp" ? ipfix_listen_address::transport::udp : ipfix_listen_address::transport::tcp;
    const std::string_view rest = text.substr(colon + 1);
    const std::size_t last = rest.rfind(':');
    if (last == std::string_view::npos) throw std::invalid_argument("\"" + a.text + "\" has no :PORT");
    std::string_view host = rest.substr(0, last);
    const std::string_view port = rest.substr(last + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        throw std::invalid_argument("\"" + a.text + "\": \"" + std::string(port) + "\" is not a port (0 to 65535)");
    a.port = static_cast<std::uint16_t>(value);
    a.host = std::string(host);
    in6_addr scratch{};
    if (::inet_pton(AF_INET, a.host.c_str(), &scratch) != 1 && ::inet_pton(AF_INET6, a.host.c_str(), &scratch) != 1)
        throw std::invalid_argument("\"" + a.text + "\": \"" + a.host + "\" is not a numeric IPv4 or IPv6 address");
    return a;
}

ipfix_listener::ipfix_listener(ipfix_listen_address where, std::chrono::seconds template_timeout)
    : where_(std::move(where)), template_timeout_(template_timeout) {
    const bool tcp = where_.protocol == ipfix_listen_address::transport::tcp;
    const auto [address, length] = socket_address(where_);
    try {
        socket_ = ::socket(address.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (socket_ < 0) socket_failure(where_, "cannot open a socket");
        const int on = 1;
        (void)::setsockopt(socket_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (!tcp) // exporters send in bursts: room for them while the detectors work
            (void)::setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &udp_receive_buffer, sizeof udp_receive_buffer);
        const void* raw = &address;
        if (::bind(socket_, static_cast<const sockaddr*>(raw), length) != 0) socket_failure(where_, "cannot bind");
        if (tcp && ::listen(socket_, SOMAXCONN) != 0) socket_failure(where_, "cannot listen");
        local_port_ = bound_port(socket_);
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ < 0 || !watch(epoll_, socket_)) socket_failure(where_, "cannot watch the socket");
    } catch (...) {
        if (socket_ >= 0) ::close(socket_);
        if (epoll_ >= 0) ::close(epoll_);
        throw;
    }
    if (!tcp) datagram_.resize(65536);
}

ipfix_listener::~ipfix_listener() {
    for (const connection& c : connections_) ::close(c.fd);
    ::close(socket_);
    ::close(epoll_);
}

live_source::pull ipfix_listener::next(input_record& out) {
    for (;;) {
        if (decoding_) {
            try {
                if (decoder_.next(out)) return pull::record;
            } catch (const ipfix_defect&) {
                drop_defective_message();
                // The socket may still be readable: the caller asks again, so a
                // flood of defective messages never keeps next() from returning.
                return pull::none;
            }
            decoding_ = false;
        }
        if (!start_next_message()) return pull::none;
    }
}

bool ipfix_listener::start_next_message() {
    const auto now = ipfix_decoder::clock::now();
    if (now >= next_expiry_) {
        expire_udp_templates(now);
        next_expiry_ = now + std::chrono::seconds(1);
    }
    return where_.protocol == ipfix_listen_address::transport::udp ? start_udp_message(now) : start_tcp_message(now);
}

bool ipfix_listener::start_udp_message(ipfix_decoder::clock::time_point now) {
    for (;;) {
        sockaddr_storage peer{};
        socklen_t peer_length = sizeof peer;
        void* raw = &peer;
        const ssize_t got = ::recvfrom(socket_, datagram_.data(), datagram_.size(), MSG_TRUNC,
                                       static_cast<sockaddr*>(raw), &peer_length);
        if (got < 0) return false; // EAGAIN, or an error that a later datagram may not have
        const auto size = static_cast<std::size_t>(got);
        if (size > datagram_.size()) { // MSG_TRUNC gives the real size: longer than any IPFIX message
            ++counters_.ipfix_defective_messages;
            continue;
        }
        std::string key(static_cast<const char*>(raw), peer_length);
        auto session = udp_sessions_.find(key);
        if (session == udp_sessions_.end()) {
            if (udp_sessions_.size() >= max_udp_sessions) {
                ++counters_.ipfix_refused;
                continue;
            }
            session = udp_sessions_.emplace(std::move(key), udp_session{next_session_++, now}).first;
        }
        session->second.last_seen = now;
        try {
            decoder_.start_message(session->second.id, std::span<const std::uint8_t>(datagram_.data(), size), now);
        } catch (const ipfix_defect&) {
            ++counters_.ipfix_defective_messages;
            continue;
        }
        decoding_ = true;
        return true;
    }
}

bool ipfix_listener::start_tcp_message(ipfix_decoder::clock::time_point now) {
    // accept() costs the kernel a file even when nobody is waiting: asked
    // when the connections had nothing, and now and then while they keep giving.
    if (accept_due_ || connections_.empty() || messages_since_accept_ >= messages_between_accepts) {
        accept_connections();
        accept_due_ = false;
        messages_since_accept_ = 0;
    }
    for (std::size_t tried = 0; tried <= connections_.size() && !connections_.empty(); ++tried) {
        if (cursor_ >= connections_.size() || burst_ >= messages_per_turn) {
            cursor_ = cursor_ >= connections_.size() ? 0 : (cursor_ + 1) % connections_.size();
            burst_ = 0;
        }
        if (take_message(cursor_, now)) {
            ++burst_;
            ++messages_since_accept_;
            return true;
        }
        burst_ = messages_per_turn; // nothing there now: on to the next connection
    }
    accept_due_ = true;
    return false;
}

bool ipfix_listener::take_message(std::size_t index, ipfix_decoder::clock::time_point now) {
    for (int reads = 0; reads < 2; ++reads) {
        connection& c = connections_[index];
        const std::size_t held = c.buffer.size() - c.start;
        if (held >= 4) {
            const std::uint8_t* head = c.buffer.data() + c.start;
            const std::uint16_t version = detail::be16(head);
            const std::size_t length = detail::be16(head + 2);
            if (version != ipfix_version || length < ipfix_message_header_size) {
                ++counters_.ipfix_peers_disconnected; // not IPFIX framing: nothing after it can be trusted
                close_connection(index);
                return false;
            }
            if (held >= length) {
                try {
                    decoder_.start_message(c.session, std::span<const std::uint8_t>(head, length), now);
                } catch (const ipfix_defect&) {
                    ++counters_.ipfix_defective_messages;
                    ++counters_.ipfix_peers_disconnected;
                    close_connection(index);
                    return false;
                }
                c.start += length;
                decoding_ = true;
                decoding_from_ = index;
                return true;
            }
        }
        if (reads == 1) return false;
        // Room for a whole chunk after what is held; what was decoded goes first.
        if (c.start > 0) {
            c.buffer.erase(c.buffer.begin(), c.buffer.begin() + static_cast<std::ptrdiff_t>(c.start));
            c.start = 0;
        }
        const std::size_t kept = c.buffer.size();
        c.buffer.resize(kept + read_chunk);
        const ssize_t got = ::read(c.fd, c.buffer.data() + kept, read_chunk);
        c.buffer.resize(kept + (got > 0 ? static_cast<std::size_t>(got) : 0));
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            // The exporter closed (or reset) the session; a message cut short by that is counted.
            if (!c.buffer.empty()) ++counters_.ipfix_defective_messages;
            close_connection(index);
            return false;
        }
        if (got < 0) return false;
    }
    return false;
}

void ipfix_listener::accept_connections() {
    for (;;) {
        const int fd = ::accept4(socket_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (connections_.size() >= max_connections || !watch(epoll_, fd)) {
            ++counters_.ipfix_refused;
            ::close(fd);
            continue;
        }
        ++counters_.ipfix_connections;
        connections_.push_back(connection{fd, next_session_++, {}, 0});
    }
}

void ipfix_listener::close_connection(std::size_t index) {
    connection& c = connections_[index];
    if (decoding_ && decoding_from_ == index) decoding_ = false; // its message's records were its session's
    decoder_.forget_session(c.session);
    (void)::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    // The last connection takes the closed one's place.
    if (decoding_ && decoding_from_ == connections_.size() - 1) decoding_from_ = index;
    if (index != connections_.size() - 1) connections_[index] = std::move(connections_.back());
    connections_.pop_back();
    burst_ = messages_per_turn;
}

void ipfix_listener::drop_defective_message() {
    decoding_ = false;
    ++counters_.ipfix_defective_messages;
    if (where_.protocol == ipfix_listen_address::transport::tcp && decoding_from_ < connections_.size()) {
        ++counters_.ipfix_peers_disconnected;
        close_connection(decoding_from_);
    }
}

void ipfix_listener::expire_udp_templates(ipfix_decoder::clock::time_point now) {
    if (udp_sessions_.empty()) return;
    const auto cutoff = now - template_timeout_;
    for (auto it = udp_sessions_.begin(); it != udp_sessions_.end();) {
        counters_.ipfix_templates_expired += decoder_.expire_templates(it->second.id, cutoff);
        // An exporter silent for the timeout, with no template left, is forgotten.
        if (it->second.last_seen < cutoff && !decoder_.has_templates(it->second.id))
            it = udp_sessions_.erase(it);
        else
            ++it;
    }
}

} // namespace sipdetect_cli
