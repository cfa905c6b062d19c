# sipdetect fuzzing: included from tests/CMakeLists.txt.
#
# Always (any compiler, also the ASan/UBSan build): each fuzz target is also
# built as fuzz_replay_<name> with replay_main.cpp, and CTest replays the
# committed corpus tests/fuzz/corpus/<name>/ and the crash reproducers in
# tests/fuzz/regressions/<name>/ through it.
#
# With clang and -DSIPDETECT_FUZZ=ON: libFuzzer executables fuzz_<name>
# (-fsanitize=fuzzer,address,undefined), all built by the target
# sipdetect_fuzzers; tests/fuzz/run.sh drives them. The readers' sources are
# compiled into an instrumented copy of the readers library
# (-fsanitize=fuzzer-no-link), so coverage guides the fuzzer through them too.

option(SIPDETECT_FUZZ "Build the libFuzzer targets (clang only)" OFF)

set(SIPDETECT_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

set(SIPDETECT_FUZZ_CORE_TARGETS sip_parser address scan_state proxy_state campaign_state record_stream)
set(SIPDETECT_FUZZ_READER_TARGETS pcap_reader zeek_tsv_reader zeek_json_reader ipfixprobe_reader ipfix_reader)

find_package(nlohmann_json QUIET CONFIG)


function(sipdetect_fuzz_common_setup target)
    target_link_libraries(${target} PRIVATE sipdetect::sipdetect sipdetect_project_options)
    target_include_directories(${target} PRIVATE ${SIPDETECT_FUZZ_DIR})
    if(nlohmann_json_FOUND)
        target_link_libraries(${target} PRIVATE nlohmann_json::nlohmann_json)
        target_compile_definitions(${target} PRIVATE SIPDETECT_FUZZ_HAVE_NLOHMANN)
    endif()
endfunction()

# The readers' sources, for the copies of the readers library built here.
set(SIPDETECT_FUZZ_READER_SOURCES "")
if(TARGET sipdetect_readers)
    get_target_property(reader_sources sipdetect_readers SOURCES)
    get_target_property(SIPDETECT_FUZZ_READER_DIR sipdetect_readers SOURCE_DIR)
    foreach(source IN LISTS reader_sources)
        if(NOT IS_ABSOLUTE ${source})
            set(source ${SIPDETECT_FUZZ_READER_DIR}/${source})
        endif()
        list(APPEND SIPDETECT_FUZZ_READER_SOURCES ${source})
    endforeach()
endif()

# The readers live in examples/; without them only the core targets exist.
set(SIPDETECT_FUZZ_TARGETS ${SIPDETECT_FUZZ_CORE_TARGETS})
if(TARGET sipdetect_readers)
    if(SIPDETECT_FUZZ_READER_SOURCES MATCHES "netmon_reader.cpp")
        list(APPEND SIPDETECT_FUZZ_READER_TARGETS netmon_reader)
    endif()
    list(APPEND SIPDETECT_FUZZ_TARGETS ${SIPDETECT_FUZZ_READER_TARGETS})
endif()

# A copy of the readers library with extra compile options.
function(sipdetect_fuzz_readers_library name)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(SIPDETECT_FUZZ_PCAP REQUIRED IMPORTED_TARGET libpcap)
    find_package(nlohmann_json REQUIRED CONFIG)
    add_library(${name} STATIC ${SIPDETECT_FUZZ_READER_SOURCES})
    target_include_directories(${name} PUBLIC ${SIPDETECT_FUZZ_READER_DIR}/sipdetect)
    target_link_libraries(${name}
        PUBLIC sipdetect::sipdetect PkgConfig::SIPDETECT_FUZZ_PCAP
        PRIVATE sipdetect_project_options nlohmann_json::nlohmann_json)
    target_compile_options(${name} PRIVATE ${ARGN})
endfunction()

# In the UBSan build the replays also check float-to-integer conversions,
# which g++ leaves out of -fsanitize=undefined (clang's includes them).
set(SIPDETECT_FUZZ_REPLAY_SANITIZE "")
if(SIPDETECT_SANITIZE MATCHES "undefined")
    set(SIPDETECT_FUZZ_REPLAY_SANITIZE -fsanitize=float-cast-overflow)
endif()
set(SIPDETECT_FUZZ_REPLAY_READERS sipdetect_readers)
if(SIPDETECT_FUZZ_REPLAY_SANITIZE AND TARGET sipdetect_readers)
    sipdetect_fuzz_readers_library(sipdetect_readers_replay ${SIPDETECT_FUZZ_REPLAY_SANITIZE})
    set(SIPDETECT_FUZZ_REPLAY_READERS sipdetect_readers_replay)
endif()

# Replay programs and their tests; replay_main.cpp is compiled once for all of them.
add_library(sipdetect_fuzz_replay_main OBJECT ${SIPDETECT_FUZZ_DIR}/replay_main.cpp)
target_link_libraries(sipdetect_fuzz_replay_main PRIVATE sipdetect_project_options)
target_compile_features(sipdetect_fuzz_replay_main PRIVATE cxx_std_20) # clang 14 defaults to C++14
target_compile_options(sipdetect_fuzz_replay_main PRIVATE ${SIPDETECT_FUZZ_REPLAY_SANITIZE})
foreach(name IN LISTS SIPDETECT_FUZZ_TARGETS)
    set(exe fuzz_replay_${name})
    add_executable(${exe} ${SIPDETECT_FUZZ_DIR}/fuzz_${name}.cpp $<TARGET_OBJECTS:sipdetect_fuzz_replay_main>)
    sipdetect_fuzz_common_setup(${exe})
    if(SIPDETECT_FUZZ_REPLAY_SANITIZE)
        target_compile_options(${exe} PRIVATE ${SIPDETECT_FUZZ_REPLAY_SANITIZE})
        target_link_options(${exe} PRIVATE ${SIPDETECT_FUZZ_REPLAY_SANITIZE})
    endif()
    if(name IN_LIST SIPDETECT_FUZZ_READER_TARGETS)
        target_link_libraries(${exe} PRIVATE ${SIPDETECT_FUZZ_REPLAY_READERS})
    endif()
    add_test(NAME "fuzz corpus: ${name}"
        COMMAND ${exe} ${SIPDETECT_FUZZ_DIR}/corpus/${name} ${SIPDETECT_FUZZ_DIR}/regressions/${name})
    set_tests_properties("fuzz corpus: ${name}" PROPERTIES TIMEOUT 600)
endforeach()

# The generator of the committed state seeds (not part of the default build):
#   cmake --build <dir> --target fuzz_make_state_seeds && <dir>/tests/fuzz_make_state_seeds tests/fuzz/corpus
add_executable(fuzz_make_state_seeds EXCLUDE_FROM_ALL ${SIPDETECT_FUZZ_DIR}/make_state_seeds.cpp)
sipdetect_fuzz_common_setup(fuzz_make_state_seeds)

if(SIPDETECT_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "SIPDETECT_FUZZ needs clang (libFuzzer); configure with -DCMAKE_CXX_COMPILER=clang++")
    endif()
    set(SIPDETECT_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
    add_custom_target(sipdetect_fuzzers)

    if(TARGET sipdetect_readers)
        # The readers again, instrumented for coverage and the sanitizers.
        sipdetect_fuzz_readers_library(sipdetect_readers_fuzz ${SIPDETECT_FUZZ_FLAGS} -fsanitize=fuzzer-no-link)
    endif()

    foreach(name IN LISTS SIPDETECT_FUZZ_TARGETS)
        set(exe fuzz_${name})
        add_executable(${exe} ${SIPDETECT_FUZZ_DIR}/fuzz_${name}.cpp)
        sipdetect_fuzz_common_setup(${exe})
        target_compile_options(${exe} PRIVATE ${SIPDETECT_FUZZ_FLAGS} -fsanitize=fuzzer)
        target_link_options(${exe} PRIVATE -fsanitize=fuzzer,address,undefined)
        if(name IN_LIST SIPDETECT_FUZZ_READER_TARGETS)
            target_link_libraries(${exe} PRIVATE sipdetect_readers_fuzz)
        endif()
        add_dependencies(sipdetect_fuzzers ${exe})
    endforeach()
endif()
