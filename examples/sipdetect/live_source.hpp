// sipdetect command-line program: inputs that never end by themselves.
//
// A live capture (-i), an IPFIX listener (--ipfix-listen), a stream on
// standard input (-) and a followed log (--follow) have no end of file to
// wait for: records arrive when the network sends them. The program's live
// loop waits on every source's descriptor at once, at most a second at a
// time, so that it can poll the detectors, checkpoint the state and answer
// signals while no traffic arrives:
//
//   while (running) {
//       poll() every source's wait_fd() (or sleep a little for those with -1);
//       for each source: while (s.next(r) == live_source::pull::record) feed r;
//       poll the detectors, checkpoint when due;
//   }
#pragma once

#include "input_record.hpp"
#include "readers.hpp"

#include <string>

namespace sipdetect_cli {

class live_source {
public:
    enum class pull {
        record, // `out` holds the next record
        none,   // nothing ready now: wait on wait_fd() (or a short sleep) and ask again
        ended,  // the source has ended (a stream's end of input); it gives nothing more
    };

    live_source() = default;
    virtual ~live_source() = default;
    live_source(const live_source&) = delete;
    live_source& operator=(const live_source&) = delete;

    // Never blocks for long. Throws input_exception on a defect that ends the
    // source (a corrupt stream); per-packet or per-message damage is counted
    // and skipped, as the file readers do.
    virtual pull next(input_record& out) = 0;

    // The run is stopping (SIGTERM, SIGINT): from now on next() gives at once
    // what the source holds back (records waiting to be put in time order)
    // and then none. The loop calls it once, then next() until none.
    virtual void stop_holding() {}

    // A descriptor that becomes readable when next() may have something, for
    // poll(2); -1 when the source has none and must be asked periodically.
    virtual int wait_fd() const noexcept = 0;

    // What the source has read so far, in the file readers' counters.
    virtual reader_counters counters() const = 0;

    // How the user named it: "lo", "udp:127.0.0.1:4739", "-", "/var/log/zeek/sip.log".
    virtual std::string name() const = 0;
};

} // namespace sipdetect_cli
