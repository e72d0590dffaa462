/* Run with the Vulkan loader pointed at a driver manifest that does not exist (see
 * tests/CMakeLists.txt): every device call must fail with GRL_ERROR_NO_DEVICE and a message,
 * never crash. Exit status 0 means the contract held. */
#include <grilly.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  uint32_t n = 99;
  grl_status s = grl_device_count(&n);
  int ok = 1;
  if (s == GRL_OK && n == 0) {
    /* a loader with no driver may report zero devices instead of failing: creation must fail */
  } else if (s != GRL_ERROR_NO_DEVICE) {
    printf("grl_device_count returned %s\n", grl_status_string(s));
    ok = 0;
  }
  grl_device dev = NULL;
  s = grl_device_create(NULL, &dev);
  const char* msg = grl_last_error_message();
  printf("grl_device_create: %s: %s\n", grl_status_string(s), msg);
  if (s != GRL_ERROR_NO_DEVICE || dev != NULL || strlen(msg) < 20) ok = 0;
  printf("%s\n", ok ? "1 passed, 0 failed" : "0 passed, 1 failed");
  return ok ? 0 : 1;
}
