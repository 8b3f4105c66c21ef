/* clients/cli/tutti.c: the tutti command (being written). */
#include <stdio.h>
int main(void)
{
	puts("tutti");
	return 0;
}
