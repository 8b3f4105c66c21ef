/* server/main.c: tuttid entry point (being written). */
#include <stdio.h>
int main(void)
{
	puts("tuttid");
	return 0;
}
