# The exec stub (src/stub/) runs in a child that may share rdbox's memory, on a tiny stack:
# it may call nothing outside itself (no libc, no C++ runtime, no compiler helper). Links
# its objects together and fails the build when anything is left undefined.
# -DOBJECTS=<a:b:c> -DSTAMP=<file> -DLD=<ld> -DNM=<nm>
string(REPLACE ":" ";" OBJECTS "${OBJECTS}")
set(combined "${STAMP}.o")
execute_process(COMMAND ${LD} -r -o ${combined} ${OBJECTS} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stub check: ld -r failed: ${err}")
endif()
execute_process(COMMAND ${NM} -u ${combined} OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
file(REMOVE ${combined})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stub check: nm failed")
endif()
string(STRIP "${undefined}" undefined)
if(NOT undefined STREQUAL "")
  message(FATAL_ERROR "the exec stub (src/stub/) references symbols outside itself:\n${undefined}")
endif()
file(TOUCH ${STAMP})
