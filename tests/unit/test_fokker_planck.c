#include "gftest.h"
static Suite *MakeSuite(void)
{
  return suite_create("test_fokker_planck");
}
int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
