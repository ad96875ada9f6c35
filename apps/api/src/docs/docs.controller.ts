import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/roles';
import { openApiDocument } from './openapi';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>fundus-screen API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#ui' });</script>
</body></html>`;

/** OpenAPI JSON and Swagger UI. Public: documentation holds no data. */
@Controller('docs')
@Public()
export class DocsController {
  private readonly doc = openApiDocument();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return this.doc;
  }
}
