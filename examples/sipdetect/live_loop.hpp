// sipdetect command-line program: the live loop, for inputs that never end
// by themselves (live_source.hpp).
//
// Records go through the same record_feeder as a file run, so a stream gives
// the events its file gives. On top of that the loop
//  - advances record time by the wall clock while the input is idle
//    (idle_clock.hpp), so that a scan ends after its idle timeout although
//    no traffic comes,
//  - checkpoints the state every --checkpoint seconds (atomically),
//  - prints a status line every --status-interval seconds,
//  - stops on SIGTERM or SIGINT, and calls the output's reopen hook on SIGHUP.
#pragma once

#include "event_output.hpp"
#include "live_source.hpp"
#include "options.hpp"
#include "readers.hpp"
#include "record_feeder.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sipdetect_cli {

struct live_hooks {
    // Called on SIGHUP, from the loop (not from the signal handler): reopens
    // the event output for logrotate. Empty when the output has nothing to
    // reopen (standard output).
    std::function<void()> reopen_output;
    // --report: counts every record, and is rewritten at each checkpoint.
    html_report* report = nullptr;
};

// What a live run read, for the end of the run (main.cpp's finish()).
struct live_result {
    std::uint64_t analysed = 0;
    reader_counters input;                    // every source's counters, ended ones included
    std::optional<std::string> input_failure; // the first source that failed, when one did
};

// Drops privileges once the sources are open (they keep their descriptors):
// root for opt.user when set, else every capability of a process that is not
// root (as root with --allow-root it keeps them). Then reads every source until SIGTERM or SIGINT,
// or until every source has ended or failed. Records left in the batch are
// fed before it returns; what is due at the end (flush, or poll and save with
// --state) is the caller's, as after a file run. Throws privilege_error when
// the privileges cannot be dropped.
live_result run_live(const options& opt, std::vector<std::unique_ptr<live_source>>& sources,
                     detector_set detectors, event_printer& print, const live_hooks& hooks = {});

} // namespace sipdetect_cli
