module.exports = { ...require('../../jest.preset.js'), displayName: 'sharding', rootDir: __dirname };
