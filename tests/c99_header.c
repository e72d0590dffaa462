/* Compiled with -std=c99 -pedantic -Werror: the public header must be plain C99. */
#include <grilly.h>

int grilly_c99_header_check(void) {
  grl_device_options opts = GRL_DEVICE_OPTIONS_INIT;
  grl_tensor t = NULL;
  (void)t;
  return (int)opts.version + (int)sizeof(grl_device_info) + (int)GRL_OK;
}
