#include "gftest.h"
static Suite *MakeSuite(void)
{
  return suite_create("test_io");
}
int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
