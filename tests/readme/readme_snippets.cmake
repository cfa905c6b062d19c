# The code blocks of the READMEs, built and run as tests (tests/readme/README.md).
# Included from tests/CMakeLists.txt after packaging.cmake.
#
#  - C++ blocks: those marked `<!-- snippet: NAME -->` with one NAME form one
#    translation unit, in document order; an unmarked C++ block is one on its
#    own. tests/readme/NAME.main.cpp, when it exists, is appended to its unit
#    and gives it a main() that checks what the page says. Every unit is
#    compiled with the project's warnings (errors in CI), linked to {fmt} when
#    it includes <sipdetect/fmt.hpp>, and run when it has a main().
#  - Other blocks marked with a path (`<!-- snippet: tests/consumers/... -->`)
#    must appear, line for line, in that file, which another test builds.
#
# The units are built by the test, not by `all`, so a page that drifts from
# the code fails a test instead of the build; editing a README re-runs CMake.
include(${CMAKE_CURRENT_LIST_DIR}/markdown_blocks.cmake)

set(SIPDETECT_README_PAGES README.md examples/sipdetect/README.md)
set(readme_out ${CMAKE_CURRENT_BINARY_DIR}/readme_snippets)
set(readme_units "")
foreach(page IN LISTS SIPDETECT_README_PAGES)
    set(page_path ${PROJECT_SOURCE_DIR}/${page})
    if(NOT EXISTS ${page_path})
        continue()
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${page_path})
    sipdetect_markdown_blocks(${page_path} block)
    if(block_COUNT EQUAL 0)
        continue()
    endif()
    string(MAKE_C_IDENTIFIER ${page} page_id)
    math(EXPR last "${block_COUNT} - 1")
    foreach(i RANGE ${last})
        if(NOT block_${i}_LANG STREQUAL "cpp" OR block_${i}_SNIPPET MATCHES "/")
            continue()
        endif()
        if(block_${i}_SNIPPET STREQUAL "")
            set(unit ${page_id}_line_${block_${i}_LINE})
            set(readme_label_${unit} "${page}:${block_${i}_LINE}")
        else()
            string(MAKE_C_IDENTIFIER ${block_${i}_SNIPPET} unit)
            set(unit ${page_id}_${unit})
            set(readme_harness_${unit} ${CMAKE_CURRENT_LIST_DIR}/${block_${i}_SNIPPET}.main.cpp)
            set(readme_label_${unit} "${page} snippet ${block_${i}_SNIPPET}")
        endif()
        if(NOT unit IN_LIST readme_units)
            list(APPEND readme_units ${unit})
            set(readme_code_${unit} "")
        endif()
        string(APPEND readme_code_${unit} "#line ${block_${i}_LINE} \"${page_path}\"\n${block_${i}_CODE}")
    endforeach()
endforeach()

set(readme_targets "")
set(readme_run_tests "")
foreach(unit IN LISTS readme_units)
    set(code "${readme_code_${unit}}")
    if(DEFINED readme_harness_${unit} AND EXISTS ${readme_harness_${unit}})
        file(READ ${readme_harness_${unit}} harness)
        string(APPEND code "#line 1 \"${readme_harness_${unit}}\"\n${harness}")
    endif()
    set(uses_fmt FALSE)
    if(code MATCHES "#include <sipdetect/fmt.hpp>")
        set(uses_fmt TRUE)
        if(NOT fmt_FOUND)
            _sipdetect_packaging_missing("{fmt} 9 or later (libfmt-dev), for README snippet ${unit}" fmt)
            continue()
        endif()
    endif()
    # Written through a copy that changes the file only when its text did, so that
    # a README edit elsewhere does not rebuild this unit.
    file(WRITE ${readme_out}/${unit}.cpp.extracted "${code}")
    configure_file(${readme_out}/${unit}.cpp.extracted ${readme_out}/${unit}.cpp COPYONLY)
    set(target readme_${unit})
    if(code MATCHES "int main\\(")
        add_executable(${target} EXCLUDE_FROM_ALL ${readme_out}/${unit}.cpp)
        list(APPEND readme_run_tests ${unit})
    else()
        add_library(${target} OBJECT EXCLUDE_FROM_ALL ${readme_out}/${unit}.cpp)
    endif()
    target_link_libraries(${target} PRIVATE sipdetect::sipdetect sipdetect_project_options)
    if(uses_fmt)
        target_link_libraries(${target} PRIVATE fmt::fmt)
    endif()
    list(APPEND readme_targets ${target})
endforeach()

if(readme_targets)
    add_custom_target(readme_snippets DEPENDS ${readme_targets})
    add_test(NAME "README: the code blocks compile as written"
        COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target readme_snippets --config $<CONFIG>)
    set_tests_properties("README: the code blocks compile as written" PROPERTIES
        FIXTURES_SETUP readme_snippets TIMEOUT 600)
    foreach(unit IN LISTS readme_run_tests)
        set(name "README: ${readme_label_${unit}} runs and does what the page says")
        add_test(NAME ${name} COMMAND $<TARGET_FILE:readme_${unit}> WORKING_DIRECTORY ${readme_out})
        set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED readme_snippets)
    endforeach()
endif()

add_test(NAME "README: the CMake snippets are the code the packaging consumers build"
    COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} "-DPAGES=${SIPDETECT_README_PAGES}"
        -P ${CMAKE_CURRENT_LIST_DIR}/check_verbatim.cmake)
