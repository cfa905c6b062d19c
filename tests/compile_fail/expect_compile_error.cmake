# Compiles SOURCE, expects failure, and expects exactly one error that
# contains EXPECT: the diagnostic an integrator would read.
execute_process(
    COMMAND ${COMPILER} -std=c++20 -fsyntax-only -I${INCLUDE_DIR} ${SOURCE}
    RESULT_VARIABLE result
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err)
if(result EQUAL 0)
    message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(FIND "${err}" "${EXPECT}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "expected diagnostic not found: ${EXPECT}\n--- compiler said ---\n${err}")
endif()
string(REGEX MATCHALL "error:" errors "${err}")
list(LENGTH errors count)
if(NOT count EQUAL 1)
    message(FATAL_ERROR "expected exactly one error, got ${count}\n--- compiler said ---\n${err}")
endif()
message(STATUS "one readable error, as expected")
