// sipdetect command-line program: standard input ("-") and a followed Zeek
// log (--follow FILE) as live sources.
//
// Both are byte streams that any of the file readers can read once opened on
// them (open_stream_reader): the format is detected from the first bytes,
// then the reader runs in a thread of its own, where it may wait for bytes as
// long as it likes, and hands its records over through a bounded queue. The
// live loop never waits on the reader: wait_fd() is an eventfd that becomes
// readable when records are queued or the stream ends.
//
// A followed file is read like `tail -F`, from its beginning: appended bytes
// are read as they come (a partial last line waits for its end); when the
// name comes to designate another file (rotation: renamed, then recreated)
// the old file is read to its end first, then the new one from its start;
// when the file shrinks below what was read (truncation) it is read again
// from its start. A line cut by a rotation or truncation is ended there.
#pragma once

#include "live_source.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace sipdetect_cli {

// A byte stream read by one thread and stopped from another.
class byte_source {
public:
    byte_source() = default;
    virtual ~byte_source() = default;
    byte_source(const byte_source&) = delete;
    byte_source& operator=(const byte_source&) = delete;

    // Waits until bytes arrive; returns how many it put in `to` (at most n),
    // 0 at the end of the stream or once stop() was called, -1 on an error.
    virtual std::ptrdiff_t read_some(char* to, std::size_t n) = 0;
    // Makes a waiting read_some() return 0, now and from then on. Thread-safe.
    virtual void stop() noexcept = 0;
};

// A descriptor (standard input) read as it becomes readable.
std::unique_ptr<byte_source> descriptor_bytes(int fd);

// What a followed file went through, for tests and --stats.
struct follow_counters {
    std::uint64_t rotations = 0;   // the name came to designate another file
    std::uint64_t truncations = 0; // the file shrank below what was read
};

// A file followed by name like `tail -F`; waits up to `poll_interval` between
// looks at a file that has not grown (and for a file that does not exist yet).
class followed_file final : public byte_source {
public:
    followed_file(std::filesystem::path path, std::chrono::milliseconds poll_interval);
    ~followed_file() override;
    std::ptrdiff_t read_some(char* to, std::size_t n) override;
    void stop() noexcept override;
    follow_counters counters() const noexcept { return {rotations_.load(), truncations_.load()}; }

private:
    bool open_current();
    // Sleeps for the poll interval, or less when stopped.
    void wait() const;

    std::filesystem::path path_;
    std::chrono::milliseconds poll_interval_;
    int stop_fd_ = -1;
    std::atomic<bool> stopped_{false};
    int fd_ = -1;
    std::uint64_t device_ = 0, inode_ = 0, offset_ = 0;
    bool line_open_ = false;     // the last byte given was not a newline
    bool end_line_ = false;      // give a newline next: the file switched in the middle of a line
    bool draining_old_ = false;  // rotated: read what the old file still holds before leaving it
    std::atomic<std::uint64_t> rotations_{0}, truncations_{0};
};

class stream_source final : public live_source {
public:
    static constexpr std::size_t queue_capacity = 4096;

    // `name` is how the user named the stream. The reading thread starts at
    // the first call to next().
    stream_source(std::string name, std::unique_ptr<byte_source> bytes);
    ~stream_source() override;

    pull next(input_record& out) override;
    int wait_fd() const noexcept override { return ready_fd_; }
    reader_counters counters() const override;
    std::string name() const override { return name_; }
    // The format detected; unknown until the first bytes came.
    input_format format() const;

private:
    void read_stream();
    bool push(input_record& r, const reader_counters& c);
    void signal_ready() const noexcept;
    std::optional<pull> take(input_record& out);

    std::string name_;
    std::unique_ptr<byte_source> bytes_;
    int ready_fd_ = -1;
    mutable std::mutex mutex_;
    std::condition_variable room_;
    std::deque<input_record> queue_;
    reader_counters counters_;
    input_format format_ = input_format::unknown;
    bool ended_ = false, stopping_ = false, error_reported_ = false;
    std::optional<input_error> error_;
    std::thread reader_;
};

// "-": standard input.
std::unique_ptr<stream_source> open_standard_input();
// --follow FILE.
std::unique_ptr<stream_source> open_followed_log(const std::filesystem::path& path,
                                                 std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200));

} // namespace sipdetect_cli
