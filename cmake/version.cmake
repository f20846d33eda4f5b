# rdbox's version and the git revision it was configured from, for `rdbox --version`.
# The revision is read at configure time ("unknown" without git or outside a checkout);
# CMake re-configures when HEAD moves, so a rebuild after a commit shows the new one.
set(RDBOX_GIT_REVISION "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE _rev OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _rc ERROR_QUIET)
  if(_rc EQUAL 0 AND _rev)
    set(RDBOX_GIT_REVISION "${_rev}")
    # Re-configure when HEAD or the branch it names moves (a worktree's HEAD lives apart).
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} symbolic-ref -q HEAD
                    OUTPUT_VARIABLE _branch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    foreach(_ref HEAD ${_branch})
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} rev-parse --path-format=absolute --git-path ${_ref}
                      OUTPUT_VARIABLE _path OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(_path AND EXISTS "${_path}")
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_path}")
      endif()
    endforeach()
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/rdbox_version.hpp.in
               ${CMAKE_BINARY_DIR}/generated/rdbox_version.hpp @ONLY)
message(STATUS "rdbox ${PROJECT_VERSION} (git ${RDBOX_GIT_REVISION})")
