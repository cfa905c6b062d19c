// sipdetect command-line program: standard input and followed logs as live
// sources (see stream_source.hpp).
#include "stream_source.hpp"

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sipdetect_cli {

namespace {

int new_eventfd() {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw input_exception(input_error{"eventfd", "", std::strerror(errno)});
    return fd;
}

void signal(int event_fd) noexcept {
    const std::uint64_t one = 1;
    (void)!::write(event_fd, &one, sizeof one);
}

class descriptor_source final : public byte_source {
public:
    explicit descriptor_source(int fd) : fd_(fd), stop_fd_(new_eventfd()) {}
    ~descriptor_source() override { ::close(stop_fd_); }

    std::ptrdiff_t read_some(char* to, std::size_t n) override {
        for (;;) {
            std::array<pollfd, 2> fds{{{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}}};
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                return -1;
            }
            if (fds[1].revents != 0) return 0;
            const ssize_t got = ::read(fd_, to, n);
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            return got;
        }
    }
    void stop() noexcept override { signal(stop_fd_); }

private:
    int fd_;
    int stop_fd_;
};

} // namespace

std::unique_ptr<byte_source> descriptor_bytes(int fd) { return std::make_unique<descriptor_source>(fd); }

// ---------------------------------------------------------------------------

followed_file::followed_file(std::filesystem::path path, std::chrono::milliseconds poll_interval)
    : path_(std::move(path)), poll_interval_(poll_interval), stop_fd_(new_eventfd()) {}

followed_file::~followed_file() {
    if (fd_ >= 0) ::close(fd_);
    ::close(stop_fd_);
}

void followed_file::stop() noexcept {
    stopped_ = true;
    signal(stop_fd_);
}

void followed_file::wait() const {
    pollfd stop{stop_fd_, POLLIN, 0};
    (void)::poll(&stop, 1, static_cast<int>(poll_interval_.count()));
}

bool followed_file::open_current() {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return false;
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        ::close(fd_);
        fd_ = -1;
        return false;
    }
    device_ = st.st_dev;
    inode_ = st.st_ino;
    offset_ = 0;
    return true;
}

std::ptrdiff_t followed_file::read_some(char* to, std::size_t n) {
    while (!stopped_) {
        if (end_line_) {
            end_line_ = false;
            line_open_ = false;
            to[0] = '\n';
            return 1;
        }
        if (fd_ < 0 && !open_current()) { // not there (yet, or between rename and recreation)
            wait();
            continue;
        }
        const ssize_t got = ::read(fd_, to, n);
        if (got > 0) {
            offset_ += static_cast<std::uint64_t>(got);
            line_open_ = to[got - 1] != '\n';
            return got;
        }
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        // At the end of what the file holds now.
        if (draining_old_) { // rotated, and the old file is read to its end: on to the new one
            draining_old_ = false;
            ::close(fd_);
            fd_ = -1;
            end_line_ = line_open_;
            continue;
        }
        struct stat open_file {}, by_name {};
        if (::fstat(fd_, &open_file) == 0 && static_cast<std::uint64_t>(open_file.st_size) < offset_) {
            ++truncations_;
            (void)::lseek(fd_, 0, SEEK_SET);
            offset_ = 0;
            end_line_ = line_open_;
            continue;
        }
        if (::stat(path_.c_str(), &by_name) == 0 &&
            (static_cast<std::uint64_t>(by_name.st_dev) != device_ || static_cast<std::uint64_t>(by_name.st_ino) != inode_)) {
            // Bytes written to the old file just before its rename are still read.
            ++rotations_;
            draining_old_ = true;
            continue;
        }
        wait();
    }
    return 0;
}

// ---------------------------------------------------------------------------

stream_source::stream_source(std::string name, std::unique_ptr<byte_source> bytes)
    : name_(std::move(name)), bytes_(std::move(bytes)), ready_fd_(new_eventfd()) {}

stream_source::~stream_source() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    room_.notify_all();
    bytes_->stop();
    if (reader_.joinable()) reader_.join();
    ::close(ready_fd_);
}

void stream_source::signal_ready() const noexcept { signal(ready_fd_); }

void stream_source::read_stream() {
    try {
        std::string head;
        bool ended = false;
        std::vector<char> chunk(64 * 1024);
        while (!stream_head_complete(head, ended)) {
            const std::ptrdiff_t got = bytes_->read_some(chunk.data(), chunk.size());
            if (got < 0) throw input_exception(input_error{name_, "", std::string("read error: ") + std::strerror(errno)});
            if (got == 0) ended = true;
            head.append(chunk.data(), static_cast<std::size_t>(got));
        }
        const input_format format = detect_stream_format(head);
        {
            const std::lock_guard lock(mutex_);
            format_ = format;
        }
        byte_source* bytes = bytes_.get();
        const auto reader = open_stream_reader(name_, format, std::move(head),
                                               [bytes](char* to, std::size_t n) { return bytes->read_some(to, n); });
        input_record r;
        while (reader->next(r))
            if (!push(r, reader->counters())) break;
        const std::lock_guard lock(mutex_);
        counters_ = reader->counters();
    } catch (const input_exception& e) {
        const std::lock_guard lock(mutex_);
        if (!stopping_) error_ = e.error(); // a stopped stream's reader sees a cut, not a defect
    }
    {
        const std::lock_guard lock(mutex_);
        ended_ = true;
    }
    signal_ready();
}

bool stream_source::push(input_record& r, const reader_counters& c) {
    bool was_empty = false;
    {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [this] { return stopping_ || queue_.size() < queue_capacity; });
        if (stopping_) return false;
        was_empty = queue_.empty();
        queue_.push_back(std::move(r));
        counters_ = c;
    }
    // The consumer clears the eventfd only before it looks at an empty queue:
    // a record pushed onto an empty queue must wake it.
    if (was_empty) signal_ready();
    return true;
}

std::optional<live_source::pull> stream_source::take(input_record& out) {
    const std::lock_guard lock(mutex_);
    if (!queue_.empty()) {
        const bool was_full = queue_.size() >= queue_capacity;
        out = std::move(queue_.front());
        queue_.pop_front();
        if (was_full) room_.notify_one();
        return pull::record;
    }
    if (!ended_) return std::nullopt;
    if (error_ && !error_reported_) {
        error_reported_ = true;
        throw input_exception(*error_);
    }
    return pull::ended;
}

live_source::pull stream_source::next(input_record& out) {
    // The reading thread starts here, not in the constructor: the live loop
    // drops privileges after opening the sources and before asking them, and
    // a capability given up by one thread stays with the others.
    if (!reader_.joinable()) reader_ = std::thread([this] { read_stream(); });
    if (const auto got = take(out)) return *got;
    std::uint64_t ignored = 0;
    (void)!::read(ready_fd_, &ignored, sizeof ignored); // cleared, then the queue looked at again
    if (const auto got = take(out)) return *got;
    return pull::none;
}

reader_counters stream_source::counters() const {
    const std::lock_guard lock(mutex_);
    return counters_;
}

input_format stream_source::format() const {
    const std::lock_guard lock(mutex_);
    return format_;
}

std::unique_ptr<stream_source> open_standard_input() {
    return std::make_unique<stream_source>("-", descriptor_bytes(STDIN_FILENO));
}

std::unique_ptr<stream_source> open_followed_log(const std::filesystem::path& path,
                                                 std::chrono::milliseconds poll_interval) {
    return std::make_unique<stream_source>(path.string(), std::make_unique<followed_file>(path, poll_interval));
}

} // namespace sipdetect_cli
