/*
  Linked into gradflow-asan only: dlclose() does nothing, so the Open MPI components
  (mca_*.so) that MPI_Finalize unloads stay mapped until exit. LeakSanitizer then names
  their frames (instead of "<unknown module>", which also costs a /proc/self/maps read per
  frame), and the suppressions in lsan.supp can match them.
*/
int dlclose(void *handle);

int dlclose(void *handle)
{
  (void)handle;
  return 0;
}
