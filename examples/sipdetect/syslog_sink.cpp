// sipdetect command-line program: RFC 5424 syslog over a local socket, UDP or TCP.
#include "syslog_sink.hpp"

#include "output_file.hpp"

#include <sipdetect/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

namespace sipdetect_cli {
namespace {

constexpr std::string_view utf8_bom = "\xef\xbb\xbf";
constexpr std::array<std::string_view, 24> facility_names = {
    "kern", "user", "mail",   "daemon", "auth",  "syslog", "lpr",    "news",   "uucp",   "cron",   "authpriv", "ftp",
    "ntp",  "audit", "alert", "clock",  "local0", "local1", "local2", "local3", "local4", "local5", "local6",   "local7"};

// How long one send or connect may wait for the receiver.
constexpr int io_timeout_ms = 1000;
constexpr std::chrono::seconds longest_backoff{60};

// "HOST:PORT" with HOST possibly in brackets; false when malformed.
bool split_host_port(std::string_view text, std::string& host, std::string& port) {
    std::size_t colon;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
        host = std::string(text.substr(1, close - 1));
        colon = close + 1;
    } else {
        colon = text.rfind(':');
        if (colon == std::string_view::npos) return false;
        host = std::string(text.substr(0, colon));
        if (host.find(':') != std::string::npos) return false; // an IPv6 address needs its brackets
    }
    port = std::string(text.substr(colon + 1));
    unsigned number = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    return !host.empty() && !port.empty() && ec == std::errc{} && ptr == port.data() + port.size() && number >= 1 &&
           number <= 65535;
}

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126; });
}

void set_timeouts(int fd) {
    const timeval tv{io_timeout_ms / 1000, (io_timeout_ms % 1000) * 1000};
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Connects `fd` within io_timeout_ms; false with errno set when it cannot.
bool connect_bounded(int fd, const sockaddr* address, socklen_t length) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return false;
    if (::connect(fd, address, length) < 0) {
        if (errno != EINPROGRESS) return false;
        pollfd p{fd, POLLOUT, 0};
        int ready;
        while ((ready = ::poll(&p, 1, io_timeout_ms)) < 0 && errno == EINTR) {}
        if (ready == 0) {
            errno = ETIMEDOUT;
            return false;
        }
        int error = 0;
        socklen_t size = sizeof error;
        if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) < 0) return false;
        if (error != 0) {
            errno = error;
            return false;
        }
    }
    return ::fcntl(fd, F_SETFL, flags) == 0;
}

} // namespace

std::optional<syslog_target> parse_syslog_target(std::string_view text) {
    syslog_target t;
    if (text == "unix") return t;
    if (text.starts_with("unix:")) {
        t.path = std::string(text.substr(5));
        if (t.path.empty() || t.path.size() >= sizeof(sockaddr_un::sun_path)) return std::nullopt;
        return t;
    }
    if (text.starts_with("udp:")) t.kind = syslog_target::transport::udp;
    else if (text.starts_with("tcp:")) t.kind = syslog_target::transport::tcp;
    else return std::nullopt;
    if (!split_host_port(text.substr(4), t.host, t.port)) return std::nullopt;
    return t;
}

std::optional<unsigned> parse_syslog_facility(std::string_view text) {
    for (std::size_t i = 0; i < facility_names.size(); ++i)
        if (text == facility_names[i]) return static_cast<unsigned>(i);
    unsigned number = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || number >= facility_names.size())
        return std::nullopt;
    return number;
}

std::string rfc5424_message(const formatted_event& event, unsigned facility, std::string_view hostname,
                            std::chrono::system_clock::time_point now) {
    const unsigned pri = facility * 8 + static_cast<unsigned>(event.severity);
    std::string out = fmt::format("<{}>1 {} {} sipdetect {} {} - ", pri,
                                  sipdetect::format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(now)),
                                  hostname, ::getpid(), event.msgid);
    out += utf8_bom;
    out += event.line;
    return out;
}

std::string syslog_hostname() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0) return "-";
    const std::string_view host(name.data());
    return !host.empty() && printable_ascii(host) ? std::string(host) : std::string("-");
}

syslog_sink::syslog_sink(syslog_target target, unsigned facility)
    : target_(std::move(target)), facility_(facility), hostname_(syslog_hostname()) {
    if (target_.kind == syslog_target::transport::unix_datagram) {
        sockaddr_storage storage{};
        auto* un = reinterpret_cast<sockaddr_un*>(&storage);
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, target_.path.c_str(), target_.path.size() + 1);
        addresses_.push_back(storage);
        address_lengths_.push_back(static_cast<socklen_t>(sizeof(sockaddr_un)));
    } else {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = target_.kind == syslog_target::transport::udp ? SOCK_DGRAM : SOCK_STREAM;
        addrinfo* found = nullptr;
        if (const int rc = ::getaddrinfo(target_.host.c_str(), target_.port.c_str(), &hints, &found); rc != 0)
            throw output_error(fmt::format("--syslog {}: {}", name(), ::gai_strerror(rc)));
        for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
            sockaddr_storage storage{};
            std::memcpy(&storage, a->ai_addr, a->ai_addrlen);
            addresses_.push_back(storage);
            address_lengths_.push_back(a->ai_addrlen);
        }
        ::freeaddrinfo(found);
    }
    (void)connect_now(); // a receiver that is not up yet costs events, not the start
}

syslog_sink::~syslog_sink() { disconnect(); }

std::string syslog_sink::name() const {
    switch (target_.kind) {
    case syslog_target::transport::unix_datagram: return "unix:" + target_.path;
    case syslog_target::transport::udp: return fmt::format("udp:{}:{}", target_.host, target_.port);
    case syslog_target::transport::tcp: return fmt::format("tcp:{}:{}", target_.host, target_.port);
    }
    return {};
}

void syslog_sink::disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool syslog_sink::connect_now() {
    disconnect();
    int error = 0;
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        const auto* address = reinterpret_cast<const sockaddr*>(&addresses_[i]);
        const int type = target_.kind == syslog_target::transport::tcp ? SOCK_STREAM : SOCK_DGRAM;
        const int fd = ::socket(address->sa_family, type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = errno;
            continue;
        }
        set_timeouts(fd);
        if (connect_bounded(fd, address, address_lengths_[i])) {
            fd_ = fd;
            ++counters_.connects;
            backoff_ = std::chrono::seconds{1};
            if (reported_down_) fmt::print(stderr, "sipdetect: syslog {}: connected again\n", name());
            reported_down_ = false;
            return true;
        }
        error = errno;
        ::close(fd);
    }
    ++counters_.connect_failures;
    retry_at_ = std::chrono::steady_clock::now() + backoff_;
    if (!reported_down_)
        fmt::print(stderr, "sipdetect: syslog {}: {}; events are counted as lost until it accepts them\n", name(),
                   std::strerror(error));
    reported_down_ = true;
    backoff_ = std::min(backoff_ * 2, longest_backoff);
    return false;
}

// A TCP receiver that closed its end shows as readable with nothing to read:
// sending into that connection would lose the event without an error.
bool syslog_sink::peer_closed() const {
    if (target_.kind != syslog_target::transport::tcp) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if ((p.revents & (POLLERR | POLLHUP)) != 0) return true;
    std::array<char, 512> discard{};
    const ssize_t n = ::recv(fd_, discard.data(), discard.size(), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool syslog_sink::transmit(const std::string& frame) {
    std::string_view rest = frame;
    while (!rest.empty()) {
        const ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void syslog_sink::send(const formatted_event& event) {
    std::string frame = rfc5424_message(event, facility_, hostname_, std::chrono::system_clock::now());
    if (target_.kind == syslog_target::transport::tcp) frame = fmt::format("{} {}", frame.size(), frame);
    if (fd_ >= 0 && peer_closed()) disconnect();
    if (fd_ < 0 && (std::chrono::steady_clock::now() < retry_at_ || !connect_now())) {
        ++counters_.lost;
        return;
    }
    if (transmit(frame)) {
        ++counters_.sent;
        return;
    }
    if (errno == EMSGSIZE) { // a datagram too large for the transport: this event only
        ++counters_.lost;
        return;
    }
    // A TCP frame cut short would corrupt the stream, and a datagram socket
    // whose receiver restarted needs a new connect: either way, once more anew.
    if (connect_now() && transmit(frame)) {
        ++counters_.sent;
        return;
    }
    disconnect();
    retry_at_ = std::chrono::steady_clock::now() + backoff_;
    ++counters_.lost;
}

} // namespace sipdetect_cli
