/* A static `true`: exec cost without the dynamic loader. */
int main(void) { return 0; }
